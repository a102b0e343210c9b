using System;
using System.IO;
using ModelCache.Errors;

namespace ModelCache.Transfer;

/// <summary>
/// A failed transfer attempt. <see cref="IsTransient"/> decides whether it is retried;
/// <see cref="KeepPartial"/> whether the partial file stays for a later resume.
/// </summary>
public sealed class TransferException : ModelCacheException
{
    private TransferException(string errorId, ModelCacheErrorKind kind, string message, string action, bool transient, bool keepPartial, TimeSpan? retryAfter, Exception? inner)
        : base(errorId, kind, message, action, inner)
    {
        IsTransient = transient;
        KeepPartial = keepPartial;
        RetryAfter = retryAfter;
    }

    public bool IsTransient { get; }

    public bool KeepPartial { get; }

    /// <summary>The server's Retry-After, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Timeouts, resets, 408/429/5xx: worth another try, and what arrived is kept for resuming.</summary>
    public static TransferException Transient(string errorId, string message, string action, TimeSpan? retryAfter = null, Exception? inner = null, bool keepPartial = true) =>
        new(errorId, ModelCacheErrorKind.ConnectionError, message, action, transient: true, keepPartial, retryAfter, inner);

    /// <summary>A definitive answer (404, 401, other 4xx, a redirect refused): not retried.</summary>
    public static TransferException Permanent(string errorId, ModelCacheErrorKind kind, string message, string action, Exception? inner = null) =>
        new(errorId, kind, message, action, transient: false, keepPartial: true, null, inner);

    /// <summary>The source's file is a directory, FIFO, socket or device: never opened, and no retry makes it a file.</summary>
    public static TransferException NotARegularFile(string subject, Errors.NotARegularFileException exception)
    {
        var failure = CacheIOFailure.NotARegularFile(exception, subject);
        return Permanent(failure.ErrorId, failure.Kind, failure.Message, failure.RecommendedAction!, exception);
    }

    /// <summary>The bytes are wrong (HTML page, too long, hash mismatch): discard them, never promote.</summary>
    public static TransferException BadContent(string errorId, string message, string action) =>
        new(errorId, ModelCacheErrorKind.InvalidData, message, action, transient: false, keepPartial: false, null, null);

    /// <summary>ENOSPC on Unix, ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    public static bool IsDiskFull(IOException exception)
    {
        const int DiskFullWindows = 112, HandleDiskFullWindows = 39, DiskFullUnix = 28;
        var code = exception.HResult & 0xFFFF;
        return code is DiskFullWindows or HandleDiskFullWindows || exception.HResult == DiskFullUnix;
    }

    public static TransferException DiskFull(string path, Exception inner) =>
        new("DiskFull", ModelCacheErrorKind.WriteError, $"The disk holding '{path}' is full.",
            "Free space (Clear-ModelCache removes models you no longer need) or choose another cache root with -CachePath.",
            transient: false, keepPartial: false, null, inner);

    /// <summary>The size is known before the first byte and the disk cannot hold it: nothing is written.</summary>
    public static TransferException InsufficientDiskSpace(string path, long needed, long available) =>
        new("InsufficientDiskSpace", ModelCacheErrorKind.WriteError,
            $"The disk holding '{path}' has {available} bytes free, but {needed} more are needed; nothing was downloaded.",
            $"Free at least {needed - available} bytes (Clear-ModelCache removes models you no longer need) or choose another cache root with -CachePath.",
            transient: false, keepPartial: true, null, null);

    /// <summary>A declared size (Content-Length, hub metadata) above the download limit: refused before the first byte.</summary>
    public static TransferException DeclaredTooLong(string location, string subject, long declared, long limit) =>
        new("ContentTooLong", ModelCacheErrorKind.InvalidData,
            $"{location} announces {declared} bytes for {subject}, more than the download limit of {limit} bytes; nothing was downloaded.",
            "If the file is really that large, raise -MaxDownloadSize; otherwise check the mirror or URL.",
            transient: false, keepPartial: false, null, null);
}
