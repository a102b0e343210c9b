using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.HuggingFace;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.Server;

/// <summary>
/// The server's pull-through: a catalog model that is cached and verified comes from the cached source; one that is not
/// is fetched once — N requests at once share one upstream transfer — through the same engine as <c>Save-Model</c>
/// (<see cref="ModelSaver"/>: staged as <c>&lt;file&gt;.partial</c>, hashed in full, promoted only when it verifies),
/// and every waiting request is sent the bytes as they arrive.
/// </summary>
/// <remarks>
/// <para><b>Streaming rather than 503 + Retry-After.</b> A request is answered with the bytes as the fetch writes them
/// (<see cref="TailingStream"/>), the catalog size as its length. Clients get the model in about the time of one
/// upstream transfer instead of that plus a second full transfer after polling; any HTTP client works (curl, a browser,
/// another tool), not only one that keeps honouring Retry-After; and 50 clients cost 50 readers of one local file, not
/// 50 polling loops. What streaming gives up — bytes leave before the whole file is verified — is contained: a stream
/// whose fetch fails verification throws at its end, so the server aborts the response and no client ever holds a
/// complete response with wrong bytes (and Save-Model verifies what it receives anyway). A model without a catalog size
/// is not streamed: the request waits for the verified file. README should describe streaming.</para>
/// <para>Before a request is answered it waits for the fetch to start receiving bytes, so an unreachable upstream or a
/// missing file is an <c>UpstreamFailed</c> error (a 502 with its reason), not a response cut short.</para>
/// <para>Across processes the store's per-model lock serialises savers: a fetch that finds the file saved meanwhile by
/// another process uses it. A failed fetch is not remembered: the next request tries again. Each fetch plans its own
/// sources (and so has its own circuit breaker): in a server that runs for months, a mirror that refused one fetch is
/// asked again by the next one.</para>
/// </remarks>
public sealed class PullThroughContentSource : IModelContentSource, IUpstreamStats, IDisposable
{
    /// <summary>The error id with which the cached source says a model is not (validly) there.</summary>
    public const string NotCachedErrorId = "ModelNotCached";

    /// <summary>What the cached source throws for a file that does not match the catalog: fetched again, as Save-Model repairs it.</summary>
    public const string CorruptErrorId = "CachedFileNotVerified";

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
    private readonly CacheStore _store;
    private readonly IModelContentSource _cached;
    private readonly PullThroughOptions _options;
    private readonly SingleFlight _fetches;
    private readonly CancellationTokenSource _stopping = new();
    private long _fetchCount;
    private long _failureCount;
    private int _disposed;

    /// <param name="store">The server's cache: fetched models are saved here.</param>
    /// <param name="cached">Serves models already cached and verified; throws <see cref="NotCachedErrorId"/> for the rest.</param>
    /// <param name="options">Where fetches look and how they connect.</param>
    public PullThroughContentSource(CacheStore store, IModelContentSource cached, PullThroughOptions options)
    {
        _store = store;
        _cached = cached;
        _options = options;
        _fetches = new SingleFlight(Environment.OSVersion.Platform == PlatformID.Win32NT ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
    }

    /// <summary>Fetches started: models asked for that were not cached.</summary>
    public long Fetches => Interlocked.Read(ref _fetchCount);

    /// <summary>Fetches that failed (the server stopping is not counted).</summary>
    public long Failures => Interlocked.Read(ref _failureCount);

    /// <summary>Fetches not yet finished.</summary>
    internal int RunningFetches => _fetches.Snapshot().Count(f => !f.Completion.IsCompleted);

    public async Task<ServedContent> OpenAsync(ModelDefinition model, long offset, CancellationToken cancellationToken)
    {
        if (offset < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "The offset cannot be negative.");
        }

        ThrowIfStopped(model);
        var key = _store.GetModelPath(model);
        if (_fetches.Find(key) is not { } fetch)
        {
            try
            {
                return await _cached.OpenAsync(model, offset, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelCacheException ex) when (ex.ErrorId is NotCachedErrorId or CorruptErrorId)
            {
                // Absent or not matching the catalog: fetched (a corrupt file is replaced by the saver, as Save-Model does).
            }

            ThrowIfStopped(model);
            fetch = _fetches.GetOrStart(key, () => Start(model, key));
        }

        return await ServeAsync(fetch, offset, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>POST /api/models/pull</c>'s start: joins the running fetch of <paramref name="model"/>, or starts one unless its
    /// cached file verifies (null then) — the same single flight and saver as a request for the file. The fetch runs
    /// under the server's stop only: a caller that goes away does not cancel it.
    /// </summary>
    internal async Task<InFlightFetch?> PullAsync(ModelDefinition model, CancellationToken cancellationToken)
    {
        ThrowIfStopped(model);
        var key = _store.GetModelPath(model);
        if (_fetches.Find(key) is { } running)
        {
            return running;
        }

        try
        {
            using (await _cached.OpenAsync(model, 0, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }
        catch (ModelCacheException ex) when (ex.ErrorId is NotCachedErrorId or CorruptErrorId)
        {
        }

        ThrowIfStopped(model);
        return _fetches.GetOrStart(key, () => Start(model, key));
    }

    /// <summary>Stops: cancels running fetches (each keeps its partial for a later resume, as a cancelled Save-Model does) and waits for them to end.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stopping.Cancel();
        var fetches = _fetches.Snapshot();
        try
        {
            Task.WaitAll(fetches.Select(f => (Task)f.Completion).ToArray(), StopTimeout);
        }
        catch (AggregateException)
        {
            // Each fetch's failure is its readers' to report.
        }

        // A server that stops leaves no partial download behind: what a stopped fetch staged is removed, under the
        // model's lock (taken only if free at once: a lock still held means a Save-Model elsewhere owns the partial).
        foreach (var fetch in fetches.Where(f => f.Completion.IsCompleted && f.Completion.Status != TaskStatus.RanToCompletion))
        {
            try
            {
                using (_store.LockAsync(fetch.Model.Family, fetch.Model.Member, TimeSpan.Zero, null, CancellationToken.None).GetAwaiter().GetResult())
                {
                    _store.RemoveWorkFiles(fetch.Model);
                }
            }
            catch (ModelCacheException)
            {
            }
            catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
            {
            }
        }
    }

    private async Task<ServedContent> ServeAsync(InFlightFetch fetch, long offset, CancellationToken cancellationToken)
    {
        var model = fetch.Model;
        await TaskWaits.WhenAnyAsync(fetch.Staged.Streaming, fetch.Completion, cancellationToken).ConfigureAwait(false);
        if (model.Size is not { } size || fetch.Completion.IsCompleted)
        {
            // Without a size nothing is streamed (no length to promise): the request waits for the verified file.
            await TaskWaits.WhenAnyAsync(fetch.Completion, fetch.Completion, cancellationToken).ConfigureAwait(false);
            if (fetch.Failed)
            {
                throw fetch.Failure();
            }

            return await _cached.OpenAsync(model, offset, cancellationToken).ConfigureAwait(false);
        }

        if (offset > size)
        {
            throw new ModelCacheException("RangeNotSatisfiable", ModelCacheErrorKind.InvalidArgument,
                $"{model.Name} has {size} bytes; a read from byte {offset} is past its end.", "Ask for a range within the file.");
        }

        return new ServedContent(new TailingStream(fetch, offset, size), size, model.Sha256.ToLowerInvariant(), fetch.StartedAt, isComplete: false);
    }

    private InFlightFetch Start(ModelDefinition model, string finalPath)
    {
        Interlocked.Increment(ref _fetchCount);
        var staged = new StagedBytes();
        var token = _stopping.Token;
        var completion = Task.Run(() => FetchAsync(model, staged, token));
        return new InFlightFetch(model, _store.GetPartialPath(model), finalPath, staged, completion);
    }

    private async Task<ModelCacheEntry> FetchAsync(ModelDefinition model, StagedBytes staged, CancellationToken cancellationToken)
    {
        try
        {
            using var planner = new SourcePlanner(_options.Mirrors, _options.MirrorOnly, _options.Offline, _options.Network, _options.Environment, HubSource.Factory(_options.Environment))
            {
                ReadsLocalCatalogUrls = false,
            };
            var saver = new ModelSaver(_store, planner) { LockTimeout = _options.LockTimeout };
            var sources = planner.Plan(model).Select(source => (IModelSource)new StagingSource(source, staged)).ToList();
            return await saver.SaveFromAsync(model, sources, false, staged, _options.Warn, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            throw Stopped(model);
        }
        catch (ModelCacheException ex)
        {
            Interlocked.Increment(ref _failureCount);
            throw UpstreamFailed(model, ex);
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
        {
            Interlocked.Increment(ref _failureCount);
            throw UpstreamFailed(model, CacheIOFailure.From(ex, model.Name));
        }
    }

    private void ThrowIfStopped(ModelDefinition model)
    {
        if (_stopping.IsCancellationRequested)
        {
            throw Stopped(model);
        }
    }

    /// <summary>
    /// What a client is told: the model and the reason's id, never the reason's text, which names the server's own
    /// files and sizes (mirror folders, the cache root, a catalog's local file); the server's log has it whole.
    /// </summary>
    private ModelCacheException UpstreamFailed(ModelDefinition model, ModelCacheException reason)
    {
        _options.Warn?.Invoke($"Pull-through of {model.Name} failed: {reason.Message}");
        return new("UpstreamFailed", reason.Kind,
            $"The server could not fetch {model.Name} ({reason.ErrorId}); its log says why.",
            "Ask the server's administrator: its log names the source that failed and why; the next request tries again.", reason);
    }

    private static ModelCacheException Stopped(ModelDefinition model) => new("PullThroughStopped", ModelCacheErrorKind.Cancelled,
        $"The server stopped while fetching {model.Name}; what it had staged is removed.",
        "Start the server again and repeat the request.");
}
