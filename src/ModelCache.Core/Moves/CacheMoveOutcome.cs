using System.Collections.Generic;
using ModelCache.Errors;

namespace ModelCache.Moves;

/// <summary>What a move did: one result per model, the failures behind the Failed ones, and the settings it switched.</summary>
public sealed class CacheMoveOutcome
{
    internal CacheMoveOutcome(IReadOnlyList<ModelMoveResult> results, IReadOnlyList<(ModelMoveResult Result, ModelCacheException Error)> failures, IReadOnlyList<string> switchedSettings)
    {
        Results = results;
        Failures = failures;
        SwitchedSettings = switchedSettings;
    }

    public IReadOnlyList<ModelMoveResult> Results { get; }

    public IReadOnlyList<(ModelMoveResult Result, ModelCacheException Error)> Failures { get; }

    /// <summary>Descriptions of the location settings that now name the destination.</summary>
    public IReadOnlyList<string> SwitchedSettings { get; }
}
