using System;

namespace ModelCache.Errors;

/// <summary>
/// Base for every failure Core reports on purpose. Carries a stable error id, a kind and the
/// action that fixes it, so callers can turn it into a precise error record without parsing text.
/// </summary>
public class ModelCacheException : Exception
{
    public ModelCacheException(string errorId, ModelCacheErrorKind kind, string message, string? recommendedAction = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorId = errorId;
        Kind = kind;
        RecommendedAction = recommendedAction;
    }

    /// <summary>Stable PascalCase identifier, e.g. <c>HashMismatch</c>.</summary>
    public string ErrorId { get; }

    public ModelCacheErrorKind Kind { get; }

    /// <summary>What the user can do about it, or null when there is nothing to suggest.</summary>
    public string? RecommendedAction { get; }
}
