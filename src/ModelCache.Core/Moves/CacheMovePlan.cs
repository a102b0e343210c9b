using System.Collections.Generic;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Store;

namespace ModelCache.Moves;

/// <summary>A move that passed every check made before anything is written: what it will copy, and from where to where.</summary>
public sealed class CacheMovePlan
{
    internal CacheMovePlan(string sourceRoot, string destinationRoot, bool wholeRoot, IReadOnlyList<(ModelCacheEntry Entry, ModelDefinition? Model)> items, long bytesToCopy)
    {
        SourceRoot = sourceRoot;
        DestinationRoot = destinationRoot;
        WholeRoot = wholeRoot;
        Items = items;
        BytesToCopy = bytesToCopy;
    }

    public string SourceRoot { get; }

    public string DestinationRoot { get; }

    /// <summary>Every model of the root moves, so location settings naming it are switched and its folders removed.</summary>
    public bool WholeRoot { get; }

    public int Count => Items.Count;

    /// <summary>The size of every selected model.</summary>
    public long Bytes => Items.Sum(i => i.Entry.Size);

    /// <summary>What still has to be copied: models whose file is not at the destination already at its full size.</summary>
    public long BytesToCopy { get; }

    /// <summary>The selected entries with their catalog model (null for a file no loaded catalog knows, which cannot be verified).</summary>
    internal IReadOnlyList<(ModelCacheEntry Entry, ModelDefinition? Model)> Items { get; }
}
