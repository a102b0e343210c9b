using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Integrity;

namespace ModelCache.Transfer;

/// <summary>Copies a body to disk, hashing every byte as it is written, with a stall timeout per read.</summary>
internal static class HashingCopier
{
    public static async Task<long> CopyAsync(Stream source, Stream destination, IncrementalHash hash, Action<long> onProgress, TimeSpan stallTimeout, string location, CancellationToken cancellationToken)
    {
        var buffer = new byte[Sha256Hasher.BufferSize / 4];
        long total = 0;
        while (true)
        {
            int read;
            using (var readTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                readTimeout.CancelAfter(stallTimeout);
                try
                {
                    // Not every stream honours the token mid-read; registering Dispose unblocks those.
                    using (readTimeout.Token.Register(source.Dispose))
                    {
                        read = await source.ReadAsync(buffer, 0, buffer.Length, readTimeout.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && readTimeout.IsCancellationRequested)
                {
                    throw new ModelCacheException("DownloadStalled", ModelCacheErrorKind.ConnectionError,
                        $"No data arrived from {location} for {stallTimeout.TotalSeconds:0} s.", "Retry later, raise -TimeoutSec, or use another mirror.", ex);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is IOException or ObjectDisposedException)
                {
                    throw new ModelCacheException("DownloadInterrupted", ModelCacheErrorKind.ConnectionError,
                        $"The connection to {location} broke after {total} bytes: {ex.GetBaseException().Message}", "Retry; the download starts again from the beginning.", ex);
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (read == 0)
            {
                return total;
            }

            hash.AppendData(buffer, 0, read);
            await destination.WriteAsync(buffer, 0, read, cancellationToken).ConfigureAwait(false);
            total += read;
            onProgress(total);
        }
    }
}
