using System;
using ModelCache.HuggingFace;

namespace ModelCache.Catalog;

/// <summary>One model the catalog knows: where it comes from and what its bytes must hash to.</summary>
public sealed class ModelDefinition
{
    /// <summary>The <see cref="Origin"/> of entries of the catalog compiled into ModelCache.</summary>
    public const string BuiltInOrigin = "built-in";

    public ModelDefinition(string family, string member, string task, string fileName, Uri? url, string sha256,
        long? size = null, string? approximateSize = null, bool isDefault = false, string? license = null, string origin = BuiltInOrigin,
        HubFileReference? huggingFace = null)
    {
        Family = family;
        Member = member;
        Task = task;
        FileName = fileName;
        Url = url;
        Sha256 = sha256.ToLowerInvariant();
        Size = size;
        ApproximateSize = approximateSize;
        IsDefault = isDefault;
        License = license;
        Origin = origin;
        HuggingFace = huggingFace;
    }

    /// <summary>Qualified name, <c>Family/Member</c>; always unique in a catalog.</summary>
    public string Name => Family + "/" + Member;

    public string Family { get; }

    public string Member { get; }

    /// <summary>uniface task name, e.g. <c>face_detection</c>.</summary>
    public string Task { get; }

    /// <summary>File name in the cache and on mirrors (uniface's cache file name).</summary>
    public string FileName { get; }

    /// <summary>
    /// Where the file is downloaded from; null for a model known only by its hash (one placed with Import-Model without
    /// -Url), which is then saved from the cache or a mirror only.
    /// </summary>
    public Uri? Url { get; }

    /// <summary>Lowercase hex SHA-256 of the file.</summary>
    public string Sha256 { get; }

    /// <summary>Exact size in bytes when the catalog knows it; null when only an approximate size is published.</summary>
    public long? Size { get; }

    /// <summary>Size as published by upstream docs (e.g. "3.5MB"), when no exact size is known.</summary>
    public string? ApproximateSize { get; }

    /// <summary>True for the member a family uses when none is named (uniface defaults).</summary>
    public bool IsDefault { get; }

    public string? License { get; }

    /// <summary>"built-in" or the path of the user catalog file that defined this entry.</summary>
    public string Origin { get; }

    /// <summary>True for entries of the built-in catalog; false for a user catalog's (even one overriding a built-in name).</summary>
    public bool IsBuiltIn => Origin == BuiltInOrigin;

    /// <summary>
    /// The hub file this model is downloaded from (the catalog's <c>"huggingFace"</c>), resolved through
    /// HF_ENDPOINT; null for models with a plain URL. For such a model <see cref="Url"/> is the public
    /// hub's resolve URL unless the catalog gave one.
    /// </summary>
    public HubFileReference? HuggingFace { get; }

    public bool IsDetection => string.Equals(Task, "face_detection", StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Name;
}
