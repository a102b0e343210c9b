using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Operations;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.Inference;

/// <summary>The first step of <see cref="DetectorProvision"/>: the model resolved, and whether using it means saving it first.</summary>
public sealed class DetectorPlan
{
    internal DetectorPlan(CacheStore store, ModelDefinition model, string modelPath)
    {
        Store = store;
        Model = model;
        ModelPath = modelPath;
    }

    public CacheStore Store { get; }

    public ModelDefinition Model { get; }

    /// <summary>Where the model's file is (or will be saved).</summary>
    public string ModelPath { get; }

    /// <summary>True when the file is not cached: the host confirms saving it (ShouldProcess) before <see cref="DetectorProvision.ProvideAsync"/>.</summary>
    public bool NeedsSave => !File.Exists(ModelPath);
}

/// <summary>The process-wide records a provision uses: the detector pool and what has been hashed already.</summary>
public sealed class DetectorResources
{
    public DetectorResources(FaceDetectorPool pool, VerifiedModelOpener opener, OptimizedModelCache optimizedCopies, FingerprintStore? fingerprints)
    {
        Pool = pool;
        Opener = opener;
        OptimizedCopies = optimizedCopies;
        Fingerprints = fingerprints;
    }

    public FaceDetectorPool Pool { get; }

    public VerifiedModelOpener Opener { get; }

    public OptimizedModelCache OptimizedCopies { get; }

    /// <summary>The user's fingerprints, which may vouch for a file already hashed (null: always hash).</summary>
    public FingerprintStore? Fingerprints { get; }

    /// <summary>Prepares ONNX Runtime's native library (the host knows where it is); throws NativeLibraryMissing.</summary>
    public Action? EnsureNativeRuntime { get; set; }

    /// <summary>The error for an exception that says the native library did not load; null when it says something else.</summary>
    public Func<Exception, ModelCacheException?>? NativeLoadFailure { get; set; }
}

/// <summary>
/// Detector provision as an operation: resolve a face-detection model, open its cached file verified (a fingerprint may
/// vouch for it) or else save it through the source policy, choose its optimized copy when one matches or else the
/// original, and lease the detector from the pool. The host confirms the save (<see cref="DetectorPlan.NeedsSave"/>).
/// </summary>
public sealed class DetectorProvision
{
    private readonly DetectorResources _resources;

    public DetectorProvision(DetectorResources resources) => _resources = resources;

    /// <summary>Resolves <paramref name="name"/> to a face detector and readies the native runtime.</summary>
    /// <exception cref="ModelCacheException">An unknown name, a model that is not a face detector, a missing native library.</exception>
    public DetectorPlan Plan(ModelCatalog catalog, CacheStore store, string name)
    {
        var model = catalog.Resolve(name);
        if (!string.Equals(model.Task, "face_detection", StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelCacheException("NotAFaceDetector", ModelCacheErrorKind.InvalidArgument, $"{model.Name} is not a face detector: its task is '{model.Task}'.",
                "Pick a face_detection model (Get-ModelCatalog | Where-Object Task -eq face_detection); a model imported without -Task is face_detection only when its inputs and outputs are a known detector layout.");
        }

        _resources.EnsureNativeRuntime?.Invoke();
        return new DetectorPlan(store, model, store.GetModelPath(model));
    }

    /// <summary>The lease of the plan's detector; the caller disposes it when no image of its run may use the session any more.</summary>
    /// <param name="plan">From <see cref="Plan"/>.</param>
    /// <param name="sources">Where to save the model from when it is not cached valid.</param>
    /// <param name="settings">Session settings (IntraOpThreads); PreOptimized is set here.</param>
    /// <param name="progress">Transfer progress of a save.</param>
    /// <param name="events">Verbose lines saying what was used, warnings of a save.</param>
    /// <param name="cancellationToken">Stops hashing and saving.</param>
    public async Task<FaceDetectorLease> ProvideAsync(DetectorPlan plan, SourcePolicy sources, FaceDetectorSettings settings, IProgress<TransferProgress>? progress,
        IOperationEvents events, CancellationToken cancellationToken)
    {
        var (path, identity) = await OpenOrSaveAsync(plan, sources, progress, events, cancellationToken).ConfigureAwait(false);
        events.Verbose($"Model file: {path}");
        try
        {
            return await RentOptimizedAsync(plan, settings, events, cancellationToken).ConfigureAwait(false) ?? RentOriginal(path, identity, settings, events);
        }
        catch (Exception ex) when (_resources.NativeLoadFailure?.Invoke(ex) is { } missing)
        {
            throw missing;
        }
    }

    /// <summary>
    /// Using a cached model is not acquiring it: a valid cached file is opened without a write and, after the first
    /// check, without hashing it again; only a missing or damaged one is saved.
    /// </summary>
    /// <remarks>
    /// The file is verified on every call (its fingerprint, or a hash), but its LastUsed is rewritten at most once per
    /// <see cref="FaceDetectorPool.UseRecordInterval"/> per process: that write (under the model's lock) was most of a warm
    /// single-image call's own cost, 4–30 ms on a busy machine against a 20 ms detection (issue 22), and a LastUsed
    /// a minute old orders least-recently-used entries just as well.
    /// </remarks>
    private async Task<(string Path, string Identity)> OpenOrSaveAsync(DetectorPlan plan, SourcePolicy sources, IProgress<TransferProgress>? progress, IOperationEvents events,
        CancellationToken cancellationToken)
    {
        var pool = _resources.Pool;
        var verified = await _resources.Opener.TryVerifyAsync(plan.Store, plan.Model, _resources.Fingerprints, cancellationToken).ConfigureAwait(false);
        if (verified is { Check: null } && pool.UseRecordedRecently(verified.Path, plan.Model.Sha256))
        {
            events.Verbose($"Verified by {verified.By}; 0 bytes hashed.");
            return (verified.Path, plan.Model.Sha256 ?? verified.Path);
        }

        var opened = verified is null ? null : await _resources.Opener.RecordUseAsync(plan.Store, plan.Model, verified, cancellationToken).ConfigureAwait(false);
        ModelCacheEntry entry;
        if (opened is not null)
        {
            events.Verbose($"Verified by {opened.VerifiedBy}; {opened.BytesHashed} bytes hashed.");
            entry = opened.Entry;
        }
        else
        {
            using var planner = sources.CreatePlanner(events);
            entry = await new ModelSaver(plan.Store, planner).SaveAsync(plan.Model, false, progress, events.Warning, cancellationToken).ConfigureAwait(false);
        }

        pool.NoteUseRecorded(entry.Path, plan.Model.Sha256);
        return (entry.Path, entry.Sha256 ?? entry.ExpectedSha256 ?? entry.Path);
    }

    /// <summary>
    /// The session of the model's optimized copy (Optimize-ModelCache -Precompile) when one matches the model's verified
    /// SHA-256, this ONNX Runtime and its own recorded hash; null (said in a verbose line) otherwise, or when ONNX Runtime
    /// cannot load it, so the original is used.
    /// </summary>
    private async Task<FaceDetectorLease?> RentOptimizedAsync(DetectorPlan plan, FaceDetectorSettings settings, IOperationEvents events, CancellationToken cancellationToken)
    {
        // The opener or the saver has just verified the original against the model's SHA-256.
        var lookup = await _resources.OptimizedCopies.FindAsync(plan.Store, plan.Model, plan.Model.Sha256, cancellationToken).ConfigureAwait(false);
        if (lookup.Path is null)
        {
            events.Verbose($"Loading the original model: {lookup.Reason}.");
            return null;
        }

        try
        {
            // Keyed by the copy's own content, and as pre-optimized: never the original's session.
            var lease = _resources.Pool.Rent(lookup.Path, lookup.Sha256!, new FaceDetectorSettings { IntraOpThreads = settings.IntraOpThreads, AllowSpinning = settings.AllowSpinning, PreOptimized = true }, out var created);
            events.Verbose($"Loaded the {lookup.Reason}.");
            SessionVerbose(created, events);
            return lease;
        }
        catch (ModelCacheException ex) when (ex.ErrorId == "ModelLoadFailed")
        {
            events.Verbose($"Loading the original model: the optimized copy '{lookup.Path}' did not load ({ex.Message}).");
            return null;
        }
    }

    private FaceDetectorLease RentOriginal(string path, string identity, FaceDetectorSettings settings, IOperationEvents events)
    {
        // Keyed by the file's content: a model re-saved with Save-Model -Force gets a session of its own.
        var lease = _resources.Pool.Rent(path, identity, new FaceDetectorSettings { IntraOpThreads = settings.IntraOpThreads, AllowSpinning = settings.AllowSpinning }, out var created);
        events.Verbose($"Loaded the original model '{path}'.");
        SessionVerbose(created, events);
        return lease;
    }

    private void SessionVerbose(bool created, IOperationEvents events) =>
        events.Verbose($"ONNX Runtime session {(created ? "created" : "reused")}; {_resources.Pool.Count} open in this process.");
}
