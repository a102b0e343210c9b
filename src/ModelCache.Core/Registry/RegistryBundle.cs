using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Transfer;

namespace ModelCache.Registry;

/// <summary>
/// A bundle read from a registry (Import-ModelCache -Registry, Sync-ModelCache -Manifest oci://…): the artifact's config
/// blob checked as a bundle manifest (every model held to the catalog, or to its carried entry), and each model's
/// layer descriptor held to that entry. A model whose layer disagrees is kept with its problem, so it fails alone.
/// </summary>
public sealed class RegistryBundle
{
    private readonly IReadOnlyDictionary<string, string> _layerProblems;

    internal RegistryBundle(string location, OciReference repository, string manifestDigest, string configDigest,
        IReadOnlyList<(BundleModel Entry, ModelDefinition Model)> models, IReadOnlyList<ModelDefinition> newModels, IReadOnlyDictionary<string, string> layerProblems)
    {
        Location = location;
        Repository = repository;
        ManifestDigest = manifestDigest;
        ConfigDigest = configDigest;
        Models = models;
        NewModels = newModels;
        _layerProblems = layerProblems;
    }

    /// <summary>The artifact as it was named (oci://host/repository:tag or @sha256:…), for messages and results.</summary>
    public string Location { get; }

    /// <summary>The repository the layers are read from, as a registry mirror is.</summary>
    public OciReference Repository { get; }

    /// <summary>The digest of the image manifest that was read (sha256:…), which pins exactly this artifact.</summary>
    public string ManifestDigest { get; }

    /// <summary>The digest of the config blob, the bundle manifest.</summary>
    public string ConfigDigest { get; }

    /// <summary>What the bundle manifest lists, each with its catalog definition.</summary>
    public IReadOnlyList<(BundleModel Entry, ModelDefinition Model)> Models { get; }

    /// <summary>Models the local catalog does not know, defined by their checked carried entry.</summary>
    public IReadOnlyList<ModelDefinition> NewModels { get; }

    /// <summary>Why the layer of <paramref name="model"/> cannot be used (it lies about its size or digest, or is missing); null when it agrees.</summary>
    public string? LayerProblem(ModelDefinition model) => _layerProblems.TryGetValue(model.Name, out var problem) ? problem : null;

    /// <summary>The models whose layer disagrees with the bundle manifest, each with why.</summary>
    public IEnumerable<(ModelDefinition Model, string Problem)> LayerProblems =>
        Models.Where(m => _layerProblems.ContainsKey(m.Model.Name)).Select(m => (m.Model, _layerProblems[m.Model.Name]));
}
