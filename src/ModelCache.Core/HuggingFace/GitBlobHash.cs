using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Integrity;
using ModelCache.IO;
using System.Security.Cryptography;
using System.Text;
using ModelCache.Catalog;

namespace ModelCache.HuggingFace;

/// <summary>Git's blob id, the SHA-1 of <c>"blob &lt;length&gt;\0"</c> followed by the bytes: the hub's id for small (non-LFS) files.</summary>
internal static class GitBlobHash
{
    /// <summary>A SHA-1 already fed with the header for a file of <paramref name="length"/> bytes.</summary>
    public static IncrementalHash Start(long length)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        var header = Encoding.ASCII.GetBytes("blob " + length.ToString(CultureInfo.InvariantCulture) + "\0");
        hash.AppendData(header);
        return hash;
    }

    /// <summary>The hash for the blob id's kind: SHA-256 for LFS ids (64 hex), git blob SHA-1 for 40 hex.</summary>
    public static IncrementalHash ForBlobId(string blobId, long length) =>
        HubNames.IsSha256(blobId) ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : Start(length);

    /// <summary>The hash a blob file has by its id's kind, read as a regular file only.</summary>
    public static async Task<string> HashFileAsync(string path, string blobId, CancellationToken cancellationToken)
    {
        using var stream = RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var hash = ForBlobId(blobId, stream.Length);
        await Sha256Hasher.AppendAsync(stream, hash, long.MaxValue, null, cancellationToken).ConfigureAwait(false);
        return Sha256Hasher.ToHex(hash.GetHashAndReset());
    }
}
