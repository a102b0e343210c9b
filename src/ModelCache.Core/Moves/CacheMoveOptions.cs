using System;
using System.Collections.Generic;
using ModelCache.Configuration;
using ModelCache.Locations;
using ModelCache.Transfer;

namespace ModelCache.Moves;

/// <summary>The steps of a move a caller can observe (tests kill a process between them).</summary>
public enum MoveStep
{
    /// <summary>A model is present and verified at the destination (copied, or already there).</summary>
    Copied,

    /// <summary>Location settings naming the old root now name the new one (whole-root moves only).</summary>
    Switched,

    /// <summary>A model's source copy was removed after its destination copy was verified again.</summary>
    Deleted,
}

/// <summary>What a move needs besides its two stores: the settings it may switch and where to report.</summary>
public sealed class CacheMoveOptions
{
    /// <summary>Settings repointed from the old root to the new one when the whole root moves.</summary>
    public IReadOnlyList<ICacheRootSetting> Settings { get; set; } = Array.Empty<ICacheRootSetting>();

    /// <summary>Read (never written) to warn when MODELCACHE_HOME still names the old root.</summary>
    public IEnvironment? Environment { get; set; }

    /// <summary>Records a switched move until its old copies are gone, so a rerun after a crash finds the old root.</summary>
    public MoveJournal? Journal { get; set; }

    public IProgress<TransferProgress>? Progress { get; set; }

    public Action<string>? Warn { get; set; }

    /// <summary>Called after each step with the model's name (the settings switched, for <see cref="MoveStep.Switched"/>).</summary>
    public Action<MoveStep, string>? OnStep { get; set; }
}
