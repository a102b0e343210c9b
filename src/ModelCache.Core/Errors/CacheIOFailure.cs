using System;
using System.IO;
using ModelCache.IO;

namespace ModelCache.Errors;

/// <summary>
/// File-system failures nobody planned for (a FIFO or folder where a model file should be, a file removed by
/// another process mid-walk, a path too long, access denied) as errors with ids of their own.
/// </summary>
public static class CacheIOFailure
{
    /// <summary>True for the exceptions <see cref="From"/> describes.</summary>
    public static bool IsIOFailure(Exception exception) => exception is IOException or UnauthorizedAccessException;

    /// <param name="exception">An exception for which <see cref="IsIOFailure"/> is true.</param>
    /// <param name="subject">What was being worked on: a model name or a command.</param>
    public static ModelCacheException From(Exception exception, string subject) => exception switch
    {
        NotARegularFileException notRegular => NotARegularFile(notRegular, subject),
        PathTooLongException => new ModelCacheException("PathTooLong", ModelCacheErrorKind.InvalidArgument,
            $"{subject}: a path in the cache is too long for this system: {exception.Message}",
            "Choose a cache root with a shorter path (-CachePath, Set-ModelCacheLocation or $env:MODELCACHE_HOME).", exception),
        UnauthorizedAccessException => new ModelCacheException("CacheAccessDenied", ModelCacheErrorKind.PermissionDenied,
            $"{subject}: access to the cache was denied: {exception.Message}",
            "Check the permissions of the cache root and of its locks folder, or choose another root.", exception),
        DirectoryNotFoundException or FileNotFoundException => new ModelCacheException("CacheEntryVanished", ModelCacheErrorKind.NotFound,
            $"{subject}: a file or folder of the cache disappeared while it was in use (another process may have removed it): {exception.Message}",
            "Run the command again.", exception),
        _ => new ModelCacheException("CacheIOError", ModelCacheErrorKind.ReadError,
            $"{subject}: an I/O error occurred in the cache: {exception.Message}",
            "Check the disk and the cache root, then run the command again.", exception),
    };

    /// <summary>A directory, FIFO, socket or device where a file should be: never opened, so never a hang.</summary>
    public const string NotARegularFileId = "NotARegularFile";

    public static ModelCacheException NotARegularFile(NotARegularFileException exception, string subject) =>
        new(NotARegularFileId, ModelCacheErrorKind.InvalidData, $"{subject}: {exception.Message}",
            $"Remove '{exception.Path}' (or move it away); ModelCache reads and writes only regular files there.", exception);
}
