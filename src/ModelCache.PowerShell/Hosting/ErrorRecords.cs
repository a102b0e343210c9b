using System;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.Integrity;

namespace ModelCache.PowerShell.Hosting;

/// <summary>The one place where Core failures become PowerShell error records.</summary>
internal static class ErrorRecords
{
    public static ErrorRecord From(ModelCacheException exception, object? target)
    {
        var record = new ErrorRecord(exception, exception.ErrorId, Category(exception.Kind), target);
        if (exception.RecommendedAction is { } action)
        {
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = action };
        }

        return record;
    }

    /// <summary>
    /// An exception no cmdlet expected: file-system failures get ids of their own (<see cref="CacheIOFailure"/>),
    /// anything else <c>ModelCacheInternalError</c>. The exception is kept as the inner one.
    /// </summary>
    public static ErrorRecord Unexpected(Exception exception, string command) =>
        CacheIOFailure.IsIOFailure(exception)
            ? From(CacheIOFailure.From(exception, command), null)
            : Create("ModelCacheInternalError", ErrorCategory.NotSpecified,
                $"{command} failed unexpectedly: {exception.GetType().Name}: {exception.Message}",
                "This is a bug in ModelCache. The original exception is $Error[0].Exception.InnerException; please report it.", null, exception);

    public static ErrorRecord Create(string errorId, ErrorCategory category, string message, string? recommendedAction, object? target, Exception? inner = null)
    {
        var exception = inner is null ? new InvalidOperationException(message) : new InvalidOperationException(message, inner);
        var record = new ErrorRecord(exception, errorId, category, target);
        if (recommendedAction is not null)
        {
            record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = recommendedAction };
        }

        return record;
    }

    private static ErrorCategory Category(ModelCacheErrorKind kind) => kind switch
    {
        ModelCacheErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        ModelCacheErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        ModelCacheErrorKind.InvalidData => ErrorCategory.InvalidData,
        ModelCacheErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        ModelCacheErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        ModelCacheErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        ModelCacheErrorKind.WriteError => ErrorCategory.WriteError,
        ModelCacheErrorKind.ReadError => ErrorCategory.ReadError,
        ModelCacheErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        ModelCacheErrorKind.Cancelled => ErrorCategory.OperationStopped,
        ModelCacheErrorKind.SecurityError => ErrorCategory.SecurityError,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>
    /// The error a failed hash check writes (HashMismatch, ModelFileMissing, ExpectedHashUnknown), or null when it passed.
    /// <paramref name="repair"/> is the command that fetches a good copy when it is not 'Save-Model &lt;Name&gt;' (hub files).
    /// </summary>
    public static ErrorRecord? ForHashResult(ModelHashResult result, object target, string? repair = null)
    {
        var label = result.Name ?? result.Path;
        return result.Status switch
        {
            HashStatus.Mismatch => Create("HashMismatch", ErrorCategory.InvalidData,
                $"{label}: SHA-256 of '{result.Path}' is {result.Actual}, expected {result.Expected}.",
                repair is not null ? $"Run '{repair}' to download a good copy." : result.Name is null ? "Check the file's origin." : $"Run 'Save-Model {result.Name}' to download a good copy.", target),
            HashStatus.Missing => Create("ModelFileMissing", ErrorCategory.ObjectNotFound,
                $"{label}: '{result.Path}' does not exist.",
                repair is not null ? $"Run '{repair}' to download it." : result.Name is null ? "Check the path." : $"Run 'Save-Model {result.Name}' to download it.", target),
            HashStatus.Unknown => Create("ExpectedHashUnknown", ErrorCategory.ObjectNotFound,
                $"'{result.Path}' hashes to {result.Actual}, but no expected SHA-256 is known for it.",
                repair is not null
                    ? $"The snapshot file is a copy that names no blob of its repo; run '{repair}' to replace it with a verified copy."
                    : "Pass the expected value with -Sha256, or add the model to a catalog with -CatalogPath.", target),
            _ => null,
        };
    }
}
