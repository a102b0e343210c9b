using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Integrity;

namespace ModelCache.Bundles;

/// <summary>Copies a stream while hashing it, the hashing of one chunk overlapping the write of the same chunk.</summary>
internal static class HashingCopy
{
    /// <summary>Copies all of <paramref name="input"/> into <paramref name="output"/>, feeding every hash; returns the bytes copied.</summary>
    /// <param name="copied">Bytes copied so far, after each chunk.</param>
    public static async Task<long> CopyAsync(Stream input, Stream output, IReadOnlyList<IncrementalHash> hashes, Action<long>? copied, CancellationToken cancellationToken)
    {
        // Two buffers, so the hashes of one chunk run on a second core while the ZIP's CRC-32 and the write
        // take the same chunk: one after the other on one thread, they made the export slower than zip -0.
        var buffers = new[] { new byte[Sha256Hasher.BufferSize], new byte[Sha256Hasher.BufferSize] };
        var hashing = Task.CompletedTask;
        long done = 0;
        int read, current = 0;
        try
        {
            while ((read = await input.ReadAsync(buffers[current], 0, Sha256Hasher.BufferSize, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await hashing.ConfigureAwait(false);
                var chunk = buffers[current];
                var length = read;
                hashing = Task.Run(
                    () =>
                    {
                        foreach (var hash in hashes)
                        {
                            hash.AppendData(chunk, 0, length);
                        }
                    },
                    cancellationToken);
                await output.WriteAsync(chunk, 0, length, cancellationToken).ConfigureAwait(false);
                done += read;
                current ^= 1;
                copied?.Invoke(done);
            }
        }
        finally
        {
            // The hashes must not be disposed under a chunk still being hashed, whatever stopped the loop.
            await hashing.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }

        await hashing.ConfigureAwait(false);
        return done;
    }
}
