using System.Collections.Generic;
using ModelCache.HuggingFace;
using ModelCache.Catalog;

namespace ModelCache.Bundles;

/// <summary>One hub cache file of a bundle, every name checked by the hub cache's rules (<see cref="HubBundleManifestReader"/>).</summary>
public sealed class HubBundleFile
{
    internal HubBundleFile(BundleModel entry, HubRepoId repo, string commit, string filePath, string blobId, IReadOnlyList<string> refs)
    {
        Entry = entry;
        RepoId = repo;
        Commit = commit;
        FilePath = filePath;
        BlobId = blobId;
        Refs = refs;
    }

    /// <summary><c>org/name@commit:path</c>, as Get-ModelCache -Layout HuggingFace names the entry.</summary>
    public string Name => $"{RepoId.Id}@{Commit}:{FilePath}";

    /// <summary>The manifest entry: the bundle's file name (the blob id), size and SHA-256.</summary>
    public BundleModel Entry { get; }

    public HubRepoId RepoId { get; }

    /// <summary>The 40-hex commit id.</summary>
    public string Commit { get; }

    /// <summary>The file's path in the repository, <c>/</c>-separated.</summary>
    public string FilePath { get; }

    /// <summary>SHA-256 (LFS) or git blob SHA-1 (small files).</summary>
    public string BlobId { get; }

    /// <summary>Refs to point at <see cref="Commit"/>.</summary>
    public IReadOnlyList<string> Refs { get; }

    public override string ToString() => Name;
}
