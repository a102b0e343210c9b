using System;

namespace ModelCache.Catalog;

/// <summary>One file on a hub: repo, path in the repo and revision; what a catalog entry's <c>"huggingFace"</c> names.</summary>
public sealed class HubFileReference
{
    public HubFileReference(HubRepoId repo, string file, string? revision = null)
    {
        Repo = repo ?? throw new ArgumentNullException(nameof(repo));
        File = HubNames.ValidateRepoPath(file);
        Revision = HubNames.ValidateRevision(revision ?? HubNames.DefaultRevision);
    }

    public HubRepoId Repo { get; }

    /// <summary>Path in the repo, <c>/</c>-separated.</summary>
    public string File { get; }

    /// <summary>Branch, tag or commit id; <c>main</c> by default.</summary>
    public string Revision { get; }

    /// <summary>The resolve URL on <paramref name="endpoint"/>.</summary>
    public Uri ResolveUri(Uri endpoint) => HubUrls.Resolve(endpoint, Repo, Revision, File);

    public override string ToString() => $"{Repo}@{Revision}:{File}";
}
