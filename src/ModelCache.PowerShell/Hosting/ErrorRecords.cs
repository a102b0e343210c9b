using System;
using System.Management.Automation;
using ModelCache.Errors;

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
}
