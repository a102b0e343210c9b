using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Integrity;

namespace ModelCache.Transfer;

/// <summary>
/// Copies a body to disk, hashing every byte as it is written. Each read has a stall timeout; a
/// body that grows past the expected size or starts like an HTML page is stopped at once.
/// </summary>
internal static class HashingCopier
{
    private const int ChunkSize = 1 << 20;

    /// <param name="source">The body.</param>
    /// <param name="destination">The partial file, positioned at <paramref name="startOffset"/>.</param>
    /// <param name="hash">Already fed with the bytes before <paramref name="startOffset"/>.</param>
    /// <param name="startOffset">Bytes already in the partial file.</param>
    /// <param name="maxTotal">Largest acceptable file size, when known.</param>
    /// <param name="onProgress">Receives the file's total bytes so far.</param>
    /// <param name="stallTimeout">Longest wait for the next bytes.</param>
    /// <param name="location">Where the body comes from, for messages.</param>
    /// <param name="cancellationToken">Stops the copy.</param>
    /// <returns>Bytes copied by this call.</returns>
    public static async Task<long> CopyAsync(Stream source, Stream destination, IncrementalHash hash, long startOffset, long? maxTotal,
        Action<long> onProgress, TimeSpan stallTimeout, string location, CancellationToken cancellationToken)
    {
        // Two buffers: the next chunk is received while the previous one is hashed and written,
        // and hashing runs beside the write, so one core is not left to do all three in turn.
        var buffers = new[] { new byte[ChunkSize], new byte[ChunkSize] };
        var current = 0;
        long copied = 0;
        Task? pending = null;
        try
        {
            while (true)
            {
                var read = await ReadAsync(source, buffers[current], stallTimeout, location, startOffset + copied, cancellationToken).ConfigureAwait(false);
                if (pending is not null)
                {
                    await pending.ConfigureAwait(false);
                    pending = null;
                    onProgress(startOffset + copied);
                }

                if (read == 0)
                {
                    return copied;
                }

                if (startOffset + copied == 0 && LooksLikeHtml(buffers[current], read))
                {
                    throw TransferException.BadContent("UnexpectedContent",
                        $"{location} sent an HTML page instead of the model.",
                        "Open the URL in a browser to see the page; check proxy, credentials and the mirror path.");
                }

                if (maxTotal is { } max && startOffset + copied + read > max)
                {
                    throw TransferException.BadContent("ContentTooLong",
                        $"{location} sent more than the expected {max} bytes.",
                        "The source serves a different file: check the mirror's copy, or update the catalog entry if upstream changed the file.");
                }

                pending = HashAndWriteAsync(destination, hash, buffers[current], read, cancellationToken);
                copied += read;
                current ^= 1;
            }
        }
        finally
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
    }

    /// <remarks>A full disk surfaces as an IOException; <see cref="ModelSaver"/> maps it for every write to the partial.</remarks>
    private static async Task HashAndWriteAsync(Stream destination, IncrementalHash hash, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        var hashing = Task.Run(() => hash.AppendData(buffer, 0, count), cancellationToken);
        try
        {
            await destination.WriteAsync(buffer, 0, count, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The hash must not run on after the caller has moved on to the other buffer.
            await hashing.ConfigureAwait(false);
        }
    }

    private static async Task<int> ReadAsync(Stream source, byte[] buffer, TimeSpan stallTimeout, string location, long position, CancellationToken cancellationToken)
    {
        using var readTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        readTimeout.CancelAfter(stallTimeout);
        try
        {
            // Not every stream honours the token mid-read; disposing it on timeout unblocks those.
            using (readTimeout.Token.Register(source.Dispose))
            {
                return await source.ReadAsync(buffer, 0, buffer.Length, readTimeout.Token).ConfigureAwait(false);
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
}
