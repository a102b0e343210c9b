using System;

namespace ModelCache.Catalog;

/// <summary>A catalog model as listed to users: its definition plus whether a cache root holds it.</summary>
public sealed class ModelCatalogEntry
{
    public ModelCatalogEntry(ModelDefinition definition, bool isCached)
    {
        Definition = definition;
        IsCached = isCached;
    }

    public ModelDefinition Definition { get; }

    public string Name => Definition.Name;

    public string Family => Definition.Family;

    public string Member => Definition.Member;

    public string Task => Definition.Task;

    public string FileName => Definition.FileName;

    /// <summary>Exact size in bytes, when the catalog knows it.</summary>
    public long? Size => Definition.Size;

    /// <summary>Exact size when known, otherwise upstream's approximate figure.</summary>
    public string SizeText => Definition.Size is { } size ? $"{size / 1048576.0:0.0} MiB" : "~" + (Definition.ApproximateSize ?? "?");

    public string Sha256 => Definition.Sha256;

    /// <summary>The download URL; null for a model known only by its hash (imported with Import-Model without -Url).</summary>
    public Uri? Url => Definition.Url;

    /// <summary><c>org/name@revision:path</c> when the model comes from a Hugging Face hub; null otherwise.</summary>
    public string? HuggingFace => Definition.HuggingFace?.ToString();

    public bool IsDefault => Definition.IsDefault;

    public string? License => Definition.License;

    /// <summary>Where the entry came from: "built-in", or the path of the catalog file that defined it (Get-ModelCatalog -Source lists them).</summary>
    public string Origin => Definition.Origin;

    public bool IsCached { get; }

    public override string ToString() => Name;
}
