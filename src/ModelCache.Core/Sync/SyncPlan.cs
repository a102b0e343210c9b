using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Store;

namespace ModelCache.Sync;

/// <summary>How one model stands against a desired-state manifest.</summary>
public enum DriftState
{
    /// <summary>Listed, cached and hashes right.</summary>
    Ok,

    /// <summary>Listed, not cached.</summary>
    Missing,

    /// <summary>Listed, cached, and its file hashes to something else.</summary>
    Corrupt,

    /// <summary>Cached, not listed.</summary>
    Extra,
}

/// <summary>What Sync-ModelCache does about one model.</summary>
public enum SyncAction
{
    /// <summary>Nothing: it is in its desired state, or it is an extra model kept without -Prune.</summary>
    None,

    /// <summary>Download it (or copy it from a mirror).</summary>
    Save,

    /// <summary>Replace the corrupt file.</summary>
    Repair,

    /// <summary>Remove it (-Prune), unless it is pinned.</summary>
    Remove,
}

/// <summary>One model of a <see cref="SyncPlan"/>: Test-ModelCache -Detailed writes these.</summary>
public sealed class ModelDrift
{
    internal ModelDrift(string name, DriftState state, SyncAction action, string path, string? expected, string? actual, long? expectedSize, long? actualSize,
        ModelDefinition? model, ModelCacheEntry? entry)
    {
        Name = name;
        State = state;
        Action = action;
        Path = path;
        Expected = expected;
        Actual = actual;
        ExpectedSize = expectedSize;
        ActualSize = actualSize;
        Model = model;
        Entry = entry;
    }

    public string Name { get; }

    public DriftState State { get; }

    /// <summary>What Sync-ModelCache would do (with the same -Prune).</summary>
    public SyncAction Action { get; }

    /// <summary>Where the model's file is (or would be) in the cache.</summary>
    public string Path { get; }

    /// <summary>The SHA-256 the catalog expects (null for an extra model).</summary>
    public string? Expected { get; }

    /// <summary>The SHA-256 the cached file hashed to (null when missing, and for an extra model, which is not hashed).</summary>
    public string? Actual { get; }

    /// <summary>The size the catalog gives, when it gives one.</summary>
    public long? ExpectedSize { get; }

    /// <summary>The cached file's size (null when missing).</summary>
    public long? ActualSize { get; }

    /// <summary>True when the model is not in its desired state.</summary>
    public bool IsDrift => State != DriftState.Ok;

    /// <summary>The manifest's model (null for an extra model).</summary>
    internal ModelDefinition? Model { get; }

    /// <summary>The cached entry, when there is one.</summary>
    public ModelCacheEntry? Entry { get; }

    /// <summary>The hash check behind an Ok state, recorded when Sync runs (null otherwise).</summary>
    internal Integrity.ModelHashResult? Check { get; set; }
}

/// <summary>How a cache stands against a manifest, model by model, and what a sync would do: one plan for Test- and Sync-ModelCache.</summary>
public sealed class SyncPlan
{
    internal SyncPlan(string cacheRoot, string manifest, IReadOnlyList<ModelDefinition> models, ModelCatalog catalog, IReadOnlyList<ModelDrift> items)
    {
        CacheRoot = cacheRoot;
        Manifest = manifest;
        Models = models;
        Catalog = catalog;
        Items = items;
    }

    public string CacheRoot { get; }

    public string Manifest { get; }

    /// <summary>The manifest's models, resolved.</summary>
    public IReadOnlyList<ModelDefinition> Models { get; }

    /// <summary>The catalog with the manifest's own entries merged in.</summary>
    public ModelCatalog Catalog { get; }

    /// <summary>One item per listed model (in manifest order), then one per extra model (unless extras are ignored).</summary>
    public IReadOnlyList<ModelDrift> Items { get; }

    /// <summary>What the manifest's models take together, by their catalog sizes.</summary>
    public long ManifestBytes => Models.Sum(m => m.Size ?? 0);

    /// <summary>True when no item drifts.</summary>
    public bool InDesiredState => Items.All(i => !i.IsDrift);
}
