using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.IO;

namespace ModelCache.Integrity;

/// <summary>SHA-256 of files and byte streams, as lowercase hex.</summary>
public static class Sha256Hasher
{
    /// <summary>Large sequential reads keep hashing I/O-bound rather than call-bound.</summary>
    internal const int BufferSize = 1 << 20;

    public static async Task<string> HashFileAsync(string path, IProgress<long>? bytesHashed = null, CancellationToken cancellationToken = default)
    {
        using var stream = RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await AppendAsync(stream, hash, long.MaxValue, bytesHashed, cancellationToken).ConfigureAwait(false);
        return ToHex(hash.GetHashAndReset());
    }

    /// <summary>Feeds <paramref name="hash"/> from <paramref name="stream"/>'s position, up to <paramref name="limit"/> bytes or the end.</summary>
    /// <returns>The bytes hashed.</returns>
    internal static Task<long> AppendAsync(Stream stream, IncrementalHash hash, long limit, IProgress<long>? bytesHashed, CancellationToken cancellationToken) =>
        AppendAsync(stream, new[] { hash }, limit, bytesHashed, cancellationToken);

    /// <summary>Feeds every one of <paramref name="hashes"/> from one read of <paramref name="stream"/>.</summary>
    internal static async Task<long> AppendAsync(Stream stream, System.Collections.Generic.IReadOnlyList<IncrementalHash> hashes, long limit, IProgress<long>? bytesHashed, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        long total = 0;
        int read;
        while (total < limit && (read = await stream.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, limit - total), cancellationToken).ConfigureAwait(false)) > 0)
        {
            foreach (var hash in hashes)
            {
                hash.AppendData(buffer, 0, read);
            }

            total += read;
            bytesHashed?.Report(total);
        }

        return total;
    }

    /// <summary>Lowercase hex SHA-256 of bytes already in memory (a manifest).</summary>
    public static string HashBytes(byte[] bytes)
    {
        using var sha = System.Security.Cryptography.SHA256.Create();
        return ToHex(sha.ComputeHash(bytes));
    }

    public static string ToHex(byte[] digest)
    {
        var chars = new char[digest.Length * 2];
        for (var i = 0; i < digest.Length; i++)
        {
            chars[2 * i] = HexDigit(digest[i] >> 4);
            chars[(2 * i) + 1] = HexDigit(digest[i] & 0xF);
        }

        return new string(chars);
    }

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);
}
