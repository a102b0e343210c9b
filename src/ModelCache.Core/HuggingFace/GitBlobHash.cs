using System.Globalization;
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
}
