using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Integrity;
using ModelCache.IO;

namespace ModelCache.Transfer;

/// <summary>
/// The one hash-while-copy: copies a stream into a file (a <see cref="StagedFile"/>) or another stream (a bundle's entry),
/// feeding every byte to each hash as it is written, the hashing overlapping the write. With download limits, each read has a stall timeout and the
/// average rate over a window has a floor (a slow drip is a stall too); a body that grows past its cap
/// or starts like an HTML page is stopped at once. Written ranges are handed to the OS for write-back
/// as the copy goes (<see cref="WriteBehind"/>), so the fsync before promotion has little left to do.
/// </summary>
internal static class HashingCopier
{
    /// <summary>Size of each write: large and aligned to itself, so the disk sees few, whole-block writes.</summary>
    private const int ChunkSize = 4 << 20;

    /// <summary>Longest a chunk is filled before what arrived is written anyway.</summary>
    private static readonly TimeSpan FillTime = TimeSpan.FromMilliseconds(250);

    /// <param name="source">The body.</param>
    /// <param name="destination">The partial file, positioned at <paramref name="startOffset"/>, or any stream.</param>
    /// <param name="hashes">Already fed with the bytes before <paramref name="startOffset"/>.</param>
    /// <param name="startOffset">Bytes already in the partial file.</param>
    /// <param name="limits">For a download: size cap, stall timeout, minimum rate and the file-system calls for write-back. Null for a local copy.</param>
    /// <param name="onProgress">Receives the file's total bytes so far.</param>
    /// <param name="location">Where the body comes from, for messages.</param>
    /// <param name="cancellationToken">Stops the copy.</param>
    /// <returns>Bytes copied by this call.</returns>
    public static async Task<long> CopyAsync(Stream source, Stream destination, IReadOnlyList<IncrementalHash> hashes, long startOffset, CopyLimits? limits,
        Action<long>? onProgress, string location, CancellationToken cancellationToken)
    {
        // Two buffers: the next chunk is received while the previous one is hashed and written,
        // and hashing runs beside the write, so one core is not left to do all three in turn. Pooled: a segmented
        // download copies a range of a few MiB per request, and two fresh 4 MiB arrays each time (zeroed, on the large
        // object heap, each a gen-2 collection in waiting) cost more CPU than the hash.
        var buffers = new[] { ArrayPool<byte>.Shared.Rent(ChunkSize), ArrayPool<byte>.Shared.Rent(ChunkSize) };
        var current = 0;
        long copied = 0;
        Task? pending = null;
        onProgress ??= _ => { };
        var flusher = limits is not null && destination is FileStream file ? new WriteBehind(file, limits.FileSystem, startOffset) : null;
        var rate = limits is null ? null : new RateWatch(limits, location);
        try
        {
            while (true)
            {
                // Fill the buffer up to the next ChunkSize boundary of the file (aligned writes), or to the end of the body;
                // on a slow link, write what came within FillTime so progress and the resumable prefix keep moving.
                var position = startOffset + copied;
                var want = ChunkSize - (int)(position % ChunkSize);
                var filled = 0;
                var fillClock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    while (filled < want && (filled == 0 || fillClock.Elapsed < FillTime))
                    {
                        var read = limits is null
                            ? await source.ReadAsync(buffers[current], filled, want - filled, cancellationToken).ConfigureAwait(false)
                            : await ReadAsync(source, buffers[current], filled, want - filled, limits.StallTimeout, location, position + filled, cancellationToken).ConfigureAwait(false);
                        if (read == 0)
                        {
                            break;
                        }

                        if (limits is not null && position == 0 && filled == 0 && LooksLikeHtml(buffers[current], read))
                        {
                            throw TransferException.BadContent("UnexpectedContent",
                                $"{location} sent an HTML page instead of the model.",
                                "Open the URL in a browser to see the page; check proxy, credentials and the mirror path.");
                        }

                        filled += read;
                        if (limits is not null && position + filled > limits.MaxTotal)
                        {
                            throw TransferException.BadContent("ContentTooLong",
                                $"{location} sent more than {limits.MaxTotal} bytes, {limits.CapReason}; the download was stopped and the partial file deleted.",
                                limits.CapAction);
                        }

                        rate?.Observe(position + filled);
                    }
                }
                catch (Exception ex) when (filled > 0 && ex is TransferException { KeepPartial: true } or OperationCanceledException)
                {
                    // What arrived before the break is good: it goes to disk (after the write in flight) so a resume starts after it.
                    if (pending is not null)
                    {
                        var previous = pending;
                        pending = null;
                        await previous.ConfigureAwait(false);
                        onProgress(startOffset + copied);
                    }

                    await destination.WriteAsync(buffers[current], 0, filled, CancellationToken.None).ConfigureAwait(false);
                    copied += filled;
                    onProgress(startOffset + copied);
                    throw;
                }

                if (pending is not null)
                {
                    await pending.ConfigureAwait(false);
                    pending = null;
                    onProgress(startOffset + copied);
                }

                if (filled == 0)
                {
                    return copied;
                }

                pending = HashAndWriteAsync(destination, hashes, buffers[current], filled, flusher, cancellationToken);
                copied += filled;
                current ^= 1;
            }
        }
        finally
        {
            try
            {
                if (pending is not null)
                {
                    // Never leave a write running against a file the caller is about to close or delete.
                    try
                    {
                        await pending.ConfigureAwait(false);
                        onProgress(startOffset + copied); // that chunk is on disk: it counts, and resuming starts after it
                    }
                    catch (Exception) when (cancellationToken.IsCancellationRequested)
                    {
                    }
                }
            }
            finally
            {
                // Only once nothing reads or writes them any more (the write and its hash have ended, awaited above).
                ArrayPool<byte>.Shared.Return(buffers[0]);
                ArrayPool<byte>.Shared.Return(buffers[1]);
            }
        }
    }

    /// <remarks>A full disk surfaces as an IOException; <see cref="ModelSaver"/> maps it for every write to the partial.</remarks>
    private static async Task HashAndWriteAsync(Stream destination, IReadOnlyList<IncrementalHash> hashes, byte[] buffer, int count, WriteBehind? flusher, CancellationToken cancellationToken)
    {
        var hashing = Task.Run(
            () =>
            {
                foreach (var hash in hashes)
                {
                    hash.AppendData(buffer, 0, count);
                }
            },
            cancellationToken);
        try
        {
            await destination.WriteAsync(buffer, 0, count, cancellationToken).ConfigureAwait(false);
            flusher?.Written(count);
        }
        finally
        {
            // The hash must not run on after the caller has moved on to the other buffer.
            await hashing.ConfigureAwait(false);
        }
    }

    /// <summary>One read with the stall timeout: DownloadStalled when nothing arrives in time, DownloadInterrupted when the connection breaks.</summary>
    internal static async Task<int> ReadAsync(Stream source, byte[] buffer, int offset, int count, TimeSpan stallTimeout, string location, long position, CancellationToken cancellationToken)
    {
        using var readTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        readTimeout.CancelAfter(stallTimeout);
        try
        {
            // Not every stream honours the token mid-read; disposing it on timeout unblocks those.
            using (readTimeout.Token.Register(source.Dispose))
            {
                return await source.ReadAsync(buffer, offset, count, readTimeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && readTimeout.IsCancellationRequested)
        {
            throw TransferException.Transient("DownloadStalled",
                $"No data arrived from {location} for {stallTimeout.TotalSeconds:0} s (after {position} bytes).",
                "Retry later, raise -TimeoutSec, or use another mirror; the partial download is kept and resumed.", inner: ex);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is IOException or ObjectDisposedException or System.Net.Http.HttpRequestException)
        {
            throw TransferException.Transient("DownloadInterrupted",
                $"The connection to {location} broke after {position} bytes: {ex.GetBaseException().Message}",
                "Retry; the partial download is kept and resumed.", inner: ex);
        }
    }

    private static bool LooksLikeHtml(byte[] buffer, int count)
    {
        var head = Encoding.ASCII.GetString(buffer, 0, Math.Min(count, 64)).TrimStart().ToLowerInvariant();
        return head.StartsWith("<!doctype html", StringComparison.Ordinal) || head.StartsWith("<html", StringComparison.Ordinal);
    }

    /// <summary>
    /// Progressive flushing: every <see cref="IFileSystemNative.WriteBackGranularity"/> bytes the new range is handed to
    /// the OS for write-back at once, and the range <see cref="Lag"/> steps older is waited for, so the disk writes while
    /// the network reads, dirty pages stay bounded (about Lag ranges) and the fsync before promotion has little left.
    /// Runs on the write task, beside the next read.
    /// </summary>
    private sealed class WriteBehind
    {
        /// <summary>Ranges in flight before the oldest is waited for: enough to keep the disk busy, few enough for a short fsync.</summary>
        internal const int Lag = 4;
        private readonly FileStream _file;
        private readonly IFileSystemNative _fileSystem;
        private readonly long _granularity;
        private readonly System.Collections.Generic.Queue<(long Offset, long Length)> _inFlight = new();
        private long _started;
        private long _written;

        public WriteBehind(FileStream file, IFileSystemNative fileSystem, long offset)
        {
            _file = file;
            _fileSystem = fileSystem;
            _granularity = fileSystem.WriteBackGranularity;
            _started = _written = offset;
        }

        public void Written(int count)
        {
            _written += count;
            if (_granularity <= 0 || _written - _started < _granularity)
            {
                return;
            }

            var length = _written - _started;
            _fileSystem.StartWriteBack(_file, _started, length);
            _inFlight.Enqueue((_started, length));
            if (_inFlight.Count > Lag)
            {
                var (offset, oldLength) = _inFlight.Dequeue();
                _fileSystem.WaitForWriteBack(_file, offset, oldLength);
            }

            _started = _written;
        }
    }

    /// <summary>
    /// The minimum-rate rule: when a whole window has passed with fewer than rate × window bytes, the transfer is a
    /// slow drip and stops as <c>DownloadStalled</c> (retried like a stall). The window restarts after each check.
    /// </summary>
    private sealed class RateWatch
    {
        private readonly CopyLimits _limits;
        private readonly string _location;
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private long _windowBytes = -1;

        public RateWatch(CopyLimits limits, string location)
        {
            _limits = limits;
            _location = location;
        }

        public void Observe(long position)
        {
            if (_limits.MinimumBytesPerSecond <= 0 || _limits.RateWindow <= TimeSpan.Zero)
            {
                return;
            }

            if (_windowBytes < 0)
            {
                _windowBytes = position;
                _clock.Restart();
                return;
            }

            var elapsed = _clock.Elapsed;
            if (elapsed < _limits.RateWindow)
            {
                return;
            }

            var rate = (position - _windowBytes) / elapsed.TotalSeconds;
            if (rate < _limits.MinimumBytesPerSecond)
            {
                throw TransferException.Transient("DownloadStalled",
                    $"{_location} sent {position - _windowBytes} bytes in the last {elapsed.TotalSeconds:0} s ({rate:0.#} bytes/s; {position} bytes in all), " +
                    $"below the minimum of {_limits.MinimumBytesPerSecond} bytes/s averaged over {_limits.RateWindow.TotalSeconds:0.#} s.",
                    "Retry later or use another mirror; the partial download is kept and resumed.");
            }

            _windowBytes = position;
            _clock.Restart();
        }
    }
}
