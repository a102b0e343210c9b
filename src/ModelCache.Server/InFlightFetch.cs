using System;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;

namespace ModelCache.Server;

/// <summary>One upstream fetch of one model, shared by every request that asked for it while it ran.</summary>
internal sealed class InFlightFetch
{
    public InFlightFetch(ModelDefinition model, string partialPath, string finalPath, StagedBytes staged, Task<ModelCacheEntry> completion)
    {
        Model = model;
        PartialPath = partialPath;
        FinalPath = finalPath;
        Staged = staged;
        Completion = completion;
        StartedAt = DateTimeOffset.UtcNow;
    }

    public ModelDefinition Model { get; }

    /// <summary>Where the saver stages the bytes (<c>&lt;file&gt;.partial</c>).</summary>
    public string PartialPath { get; }

    /// <summary>Where the verified file is promoted to.</summary>
    public string FinalPath { get; }

    public StagedBytes Staged { get; }

    /// <summary>The saver's result; faults with a <see cref="ModelCacheException"/> (UpstreamFailed, PullThroughStopped).</summary>
    public Task<ModelCacheEntry> Completion { get; }

    public DateTimeOffset StartedAt { get; }

    public bool Succeeded => Completion.Status == TaskStatus.RanToCompletion;

    public bool Failed => Completion.IsCompleted && !Succeeded;

    /// <summary>
    /// The fetch's failure as a fresh exception for one request: many readers rethrow it at once, and one shared
    /// instance would have its stack trace rewritten under them.
    /// </summary>
    public ModelCacheException Failure()
    {
        var failure = Completion.Exception?.GetBaseException() as ModelCacheException
            ?? new ModelCacheException("UpstreamFailed", ModelCacheErrorKind.ConnectionError, $"The fetch of {Model.Name} ended without a result.", null, Completion.Exception);
        return new ModelCacheException(failure.ErrorId, failure.Kind, failure.Message, failure.RecommendedAction, failure.InnerException);
    }
}
