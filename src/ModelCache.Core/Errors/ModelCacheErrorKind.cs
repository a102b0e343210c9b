namespace ModelCache.Errors;

/// <summary>
/// What kind of failure an exception describes. The PowerShell layer maps each kind to one
/// ErrorCategory, so the mapping lives in a single place and Core stays free of PowerShell types.
/// </summary>
public enum ModelCacheErrorKind
{
    NotFound,
    InvalidArgument,
    InvalidData,
    ConnectionError,
    ResourceUnavailable,
    PermissionDenied,
    WriteError,
    ReadError,
    InvalidOperation,
    Cancelled,

    /// <summary>Refused because following it would leave the cache root (a link, a path from metadata).</summary>
    SecurityError,
}
