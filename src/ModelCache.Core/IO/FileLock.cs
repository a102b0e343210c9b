using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;

namespace ModelCache.IO;

/// <summary>
/// An exclusive OS file lock (FileShare.None: flock on Unix, a share-mode lock on Windows). The
/// kernel drops it when the holder dies, so a killed process never leaves a stale lock behind.
/// The lock file itself is never deleted: deleting it would let two holders lock two different files.
/// </summary>
public sealed class FileLock : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private readonly FileStream _stream;

    private FileLock(FileStream stream)
    {
        _stream = stream;
    }

    public string Path => _stream.Name;

    public static FileLock Acquire(string path, TimeSpan timeout, CancellationToken cancellationToken) =>
        AcquireAsync(path, timeout, null, cancellationToken).GetAwaiter().GetResult();

    /// <param name="path">Lock file path; created when missing.</param>
    /// <param name="timeout">How long to wait for another holder; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    /// <param name="onWaiting">Called once, after about three seconds of waiting, so callers can tell the user.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public static async Task<FileLock> AcquireAsync(string path, TimeSpan timeout, Action? onWaiting, CancellationToken cancellationToken)
    {
        var directory = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (Exception ex) when (IsNotWritable(ex))
            {
                throw NotWritable(path, ex);
            }
        }

        var clock = Stopwatch.StartNew();
        var told = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryOpen(path) is { } stream)
            {
                return new FileLock(stream);
            }

            if (!told && clock.Elapsed > TimeSpan.FromSeconds(3))
            {
                told = true;
                onWaiting?.Invoke();
            }

            if (timeout != Timeout.InfiniteTimeSpan && clock.Elapsed > timeout)
            {
                throw new ModelCacheException("LockTimeout", ModelCacheErrorKind.ResourceUnavailable,
                    $"Timed out after {timeout.TotalSeconds:0} s waiting for the lock '{path}' held by another ModelCache process.",
                    "Wait for the other process to finish, or stop it; a lock held by a process that died is released automatically.");
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose() => _stream.Dispose();

    /// <returns>The locked file, or null while another holder has it.</returns>
    private static FileStream? TryOpen(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (Exception ex) when (IsNotWritable(ex))
        {
            // No other process is to blame and waiting cannot help: say so at once.
            throw NotWritable(path, ex);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// EACCES/EPERM (UnauthorizedAccessException), EROFS on Unix (.NET passes errno 30 as the HResult) and
    /// ERROR_WRITE_PROTECT on Windows: the folder takes no lock file, as opposed to a lock another process holds.
    /// </summary>
    private static bool IsNotWritable(Exception exception)
    {
        const int ReadOnlyFileSystemUnix = 30, WriteProtectWindows = 19;
        return exception is UnauthorizedAccessException
            || (exception is IOException io && (io.HResult == ReadOnlyFileSystemUnix || (io.HResult & unchecked((int)0xFFFF0000)) == unchecked((int)0x80070000) && (io.HResult & 0xFFFF) == WriteProtectWindows));
    }

    private static ModelCacheException NotWritable(string path, Exception inner) => new("CacheRootNotWritable", ModelCacheErrorKind.PermissionDenied,
        $"The folder '{System.IO.Path.GetDirectoryName(path)}' is not writable, so its lock file '{System.IO.Path.GetFileName(path)}' cannot be taken: {inner.Message}",
        "Point -CachePath (or Set-ModelCacheLocation, $env:MODELCACHE_HOME) at a writable folder, or make the folder writable (its permissions, or a read-only mount).",
        inner);
}
