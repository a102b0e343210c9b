using System;
using System.Collections.Generic;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;

namespace ModelCache.Store;

/// <summary>
/// One planned optimization, found without changing anything. Executing it re-checks, under the model's lock,
/// that the file is still what the plan saw; a step whose premise no longer holds does nothing.
/// </summary>
public sealed class CacheOptimizeStep
{
    internal CacheOptimizeStep(CacheOptimizeActionKind kind, string family, string member, string fileName, ModelDefinition? model, string path, long bytes, string detail)
    {
        Kind = kind;
        Family = family;
        Member = member;
        FileName = fileName;
        Model = model;
        Path = path;
        Bytes = bytes;
        Detail = detail;
    }

    public CacheOptimizeActionKind Kind { get; }

    public string Name => Family.Length == 0 ? Member : Family + "/" + Member;

    /// <summary>The file the step acts on.</summary>
    public string Path { get; }

    /// <summary>The file's size (for a partial download, its work files' total).</summary>
    public long Bytes { get; }

    public string Detail { get; }

    /// <summary>What ShouldProcess asks about: the model and its file.</summary>
    public string Target => $"{Name} ({Path})";

    /// <summary>What ShouldProcess says the step does.</summary>
    public string Description => Kind switch
    {
        CacheOptimizeActionKind.RemovedPartial => "Remove stale partial download",
        CacheOptimizeActionKind.RemovedCorrupt => "Remove corrupt model file",
        CacheOptimizeActionKind.Quarantined => "Move corrupt model file to quarantine",
        CacheOptimizeActionKind.RebuiltMetadata => "Rebuild metadata",
        CacheOptimizeActionKind.Deduplicated => $"Replace with a hard link to the identical '{Keeper?.Path}'",
        CacheOptimizeActionKind.RemovedOrphan => "Remove file no catalog knows",
        _ => Kind.ToString(),
    };

    internal string Family { get; }

    internal string Member { get; }

    internal string FileName { get; }

    internal ModelDefinition? Model { get; }

    /// <summary>The file as it was hashed for the plan (null for partials).</summary>
    internal FileFingerprint? Fingerprint { get; set; }

    internal string? Sha256 { get; set; }

    /// <summary>For a de-duplication: the file whose content stays and gets a second name.</summary>
    internal CacheOptimizeStep? Keeper { get; set; }
}

/// <summary>What Optimize-ModelCache would do, and what it skipped as untrusted (links, malformed metadata) on the way.</summary>
public sealed class CacheOptimizePlan
{
    internal CacheOptimizePlan(IReadOnlyList<CacheOptimizeStep> steps, IReadOnlyList<ModelCacheException> problems, IReadOnlyList<string> notes)
    {
        Steps = steps;
        Problems = problems;
        Notes = notes;
    }

    public IReadOnlyList<CacheOptimizeStep> Steps { get; }

    public IReadOnlyList<ModelCacheException> Problems { get; }

    /// <summary>What was left alone and why (a download running, orphans kept), for -Verbose.</summary>
    public IReadOnlyList<string> Notes { get; }
}

/// <summary>What Optimize-ModelCache is asked to do.</summary>
public sealed class CacheOptimizeOptions
{
    /// <summary>Selects entries by qualified name (<c>Family/Member</c>, or an orphan's file name); null selects all.</summary>
    public Func<string, string, bool>? Select { get; set; }

    /// <summary>Remove files no catalog knows; without it they are kept (and still de-duplicated).</summary>
    public bool RemoveOrphans { get; set; }

    /// <summary>Move corrupt files to <see cref="Layouts.CacheLayout.QuarantineDirectory"/> instead of deleting them.</summary>
    public bool Quarantine { get; set; }
}
