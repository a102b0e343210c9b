using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Errors;
using ModelCache.Primitives;

namespace ModelCache.Store;

/// <summary>What a removal (Clear-ModelCache, the admin API's clear) is asked to remove.</summary>
public sealed class RemovalRequest
{
    /// <summary>User-typed names (wildcards allowed); with no names and no files, every file passing <see cref="Filter"/>.</summary>
    public IReadOnlyList<string> Names { get; set; } = Array.Empty<string>();

    /// <summary>Files piped in, each removed from its own cache.</summary>
    public IReadOnlyList<CachedFile> Files { get; set; } = Array.Empty<CachedFile>();

    public EntryFilter? Filter { get; set; }

    /// <summary>Partial downloads instead of cached files.</summary>
    public bool Partial { get; set; }

    /// <summary>Everything the cache may remove without the user naming it.</summary>
    public bool All { get; set; }

    /// <summary>Pinned entries named by a plain name (no wildcard, no filter) go too.</summary>
    public bool RemovePinnedNamed { get; set; }

    /// <summary>Hub caches: commit ids or ref names of the named repos; all revisions when null.</summary>
    public IReadOnlyList<string>? Revisions { get; set; }

    /// <summary>Hub caches: every revision no ref points at (of the named repos, or of all), as <c>hf cache prune</c>.</summary>
    public bool Detached { get; set; }

    /// <summary>True when nothing says what to remove.</summary>
    public bool IsEmpty => Names.Count == 0 && Files.Count == 0 && (Filter is null || Filter.IsEmpty) && !Partial && !All && !Detached;
}

/// <summary>One step of a removal plan, confirmed by itself (ShouldProcess) before it runs.</summary>
public sealed class RemovalItem
{
    public RemovalItem(string target, string action, long bytes, object subject, object? input = null, bool removePinned = false)
    {
        Target = target;
        Action = action;
        Bytes = bytes;
        Subject = subject;
        Input = input ?? subject;
        RemovePinned = removePinned;
    }

    /// <summary>What goes, for the confirmation: name, path and size.</summary>
    public string Target { get; }

    /// <summary>The confirmation's action, e.g. "Remove cached model".</summary>
    public string Action { get; }

    public long Bytes { get; }

    /// <summary>The backend's own description of what goes (an entry, a partial file, a hub removal plan).</summary>
    public object Subject { get; }

    /// <summary>What the user gave that selected it (a name, a piped file): the target of an error about it.</summary>
    public object Input { get; }

    public bool RemovePinned { get; }
}

/// <summary>A removal worked out before anything is touched.</summary>
public sealed class RemovalPlan
{
    public RemovalPlan(string root, IReadOnlyList<RemovalItem> items, IReadOnlyList<string> keptPinned, IReadOnlyList<(ModelCacheException Error, object Input)> problems,
        string unit, string wholeAction, int keptUnnamed = 0, bool sweepAbandoned = false)
    {
        Root = root;
        Unit = unit;
        WholeAction = wholeAction;
        Items = items;
        KeptPinned = keptPinned;
        Problems = problems;
        KeptUnnamed = keptUnnamed;
        SweepAbandoned = sweepAbandoned;
    }

    public string Root { get; }

    public IReadOnlyList<RemovalItem> Items { get; }

    /// <summary>Pinned entries selected but kept.</summary>
    public IReadOnlyList<string> KeptPinned { get; }

    /// <summary>What selected nothing or could not be planned, each with the input it came from.</summary>
    public IReadOnlyList<(ModelCacheException Error, object Input)> Problems { get; }

    /// <summary>Files another tool's folder holds that no catalog knows, left unless named.</summary>
    public int KeptUnnamed { get; }

    /// <summary>True when the removal also sweeps abandoned partial downloads (everything was asked for).</summary>
    public bool SweepAbandoned { get; }

    /// <summary>What one item is, plural: "models", "repos".</summary>
    public string Unit { get; }

    /// <summary>The confirmation's action when the whole plan is confirmed at once (-All).</summary>
    public string WholeAction { get; }

    public long Bytes => Items.Sum(i => i.Bytes);

    /// <summary>One line for the whole plan, e.g. <c>/cache (3 models, 12 MiB)</c>.</summary>
    public string Describe() => $"{Root} ({Items.Count} {Unit}, {ByteSize.Format(Bytes)})";
}

/// <summary>What one removal step did.</summary>
public sealed class RemovalOutcome
{
    public RemovalOutcome(RemovalItem item, object? removed, string? keptBecause = null, string? note = null)
    {
        Item = item;
        Removed = removed;
        KeptBecause = keptBecause;
        Note = note;
    }

    public RemovalItem Item { get; }

    /// <summary>What went, as the host shows it (-PassThru); null when it was kept.</summary>
    public object? Removed { get; }

    /// <summary>Why nothing went (pinned meanwhile, a process writing it); null when it went.</summary>
    public string? KeptBecause { get; }

    /// <summary>A detail worth a verbose line.</summary>
    public string? Note { get; }

    /// <summary>True when the item was kept because it is pinned (by another process since planning).</summary>
    public bool KeptPinned { get; set; }
}
