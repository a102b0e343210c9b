using System.Collections.Generic;
using ModelCache.Catalog;

namespace ModelCache.Bundles;

/// <summary>A file of a scanned folder matched to a catalog model: a candidate to import, still to be verified by its hash.</summary>
public sealed class FolderMatch
{
    public FolderMatch(ModelDefinition model, string file, long size, bool byHash)
    {
        Model = model;
        File = file;
        Size = size;
        ByHash = byHash;
    }

    public ModelDefinition Model { get; }

    /// <summary>Full path of the file in the folder.</summary>
    public string File { get; }

    /// <summary>Its size when it was scanned; the import reads no more than this.</summary>
    public long Size { get; }

    /// <summary>True when its bytes were hashed and found to be the model's under another name; false for a name-and-size candidate.</summary>
    public bool ByHash { get; }
}

/// <summary>What a folder scan found: candidates per model, and what it left out and why.</summary>
public sealed class FolderScan
{
    public FolderScan(string root, IReadOnlyList<FolderMatch> matches, IReadOnlyList<(string File, string Why)> unmatched, IReadOnlyList<string> links, bool limitReached)
    {
        Root = root;
        Matches = matches;
        Unmatched = unmatched;
        Links = links;
        LimitReached = limitReached;
    }

    public string Root { get; }

    /// <summary>At most one file per model, in the order found.</summary>
    public IReadOnlyList<FolderMatch> Matches { get; }

    /// <summary>Regular files matched to no model (or to one another file already stands for); never imported.</summary>
    public IReadOnlyList<(string File, string Why)> Unmatched { get; }

    /// <summary>Links met on the walk: not followed, not read.</summary>
    public IReadOnlyList<string> Links { get; }

    /// <summary>True when the walk stopped at <see cref="FolderScanner.MaxEntries"/>; what lay beyond was not looked at.</summary>
    public bool LimitReached { get; }
}
