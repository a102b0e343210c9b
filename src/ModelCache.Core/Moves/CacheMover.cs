using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Locations;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Layouts;
using ModelCache.Transfer;

namespace ModelCache.Moves;

/// <summary>
/// Moves cached models from one cache root to another without ever holding the only copy of a model in a state that
/// could be lost. Three phases, each step under the model's lock in both roots (source first, then destination):
/// copy every model through the saver (stage → verify → promote, so a present and valid copy is skipped and a
/// killed move resumes); only when every model is verified at the destination, switch the location settings that
/// named the old root; then, per model, verify the destination copy again and delete the source copy. A failure
/// anywhere keeps every source copy that has not been verified at the destination just before its deletion.
/// </summary>
public sealed class CacheMover
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(30);
    private readonly CacheStore _source;
    private readonly CacheStore _destination;
    private readonly ModelCatalog _catalog;
    private readonly IFileSystemNative _fileSystem;

    /// <param name="fileSystem">Asked for the destination's free space (and used by the copier); the running OS's when null.</param>
    public CacheMover(CacheStore source, CacheStore destination, ModelCatalog catalog, IFileSystemNative? fileSystem = null)
    {
        _source = source;
        _destination = destination;
        _catalog = catalog;
        _fileSystem = fileSystem ?? NativeFileSystem.Current;
    }

    /// <summary>
    /// Checks the move without writing anything and says what it will copy. Refuses (throws) a destination that is the
    /// source or inside it, a source inside the destination (links resolved), a destination holding another tool's
    /// layout, a model path through a link in either root, and a destination without room for what is left to copy.
    /// </summary>
    /// <param name="selected">Entries of the source cache to move.</param>
    /// <param name="wholeRoot">True when <paramref name="selected"/> is everything the root holds (no name was given).</param>
    public CacheMovePlan Plan(IReadOnlyList<ModelCacheEntry> selected, bool wholeRoot)
    {
        CheckOverlap();
        if (_destination.Layout.CheckForeign() is { } foreign)
        {
            throw foreign;
        }

        var items = selected.Select(entry => (Entry: entry, Model: ModelOf(entry))).ToList();
        foreach (var model in items.Select(i => i.Model).OfType<ModelDefinition>())
        {
            _source.EnsureContained(model);
            _destination.EnsureContained(model);
        }

        var bytesToCopy = items.Where(i => i.Model is not null && !HasFullCopy(i.Model)).Sum(i => i.Entry.Size);
        if (bytesToCopy > 0 && _fileSystem.GetAvailableFreeSpace(_destination.Root) is { } available && available < bytesToCopy)
        {
            throw new ModelCacheException("InsufficientDiskSpace", ModelCacheErrorKind.WriteError,
                $"Moving {items.Count} models to '{_destination.Root}' needs {bytesToCopy} bytes, but only {available} bytes are free there; nothing was copied.",
                $"Free at least {bytesToCopy - available} bytes on that disk, choose a destination on another disk, or move fewer models with -Name.");
        }

        return new CacheMovePlan(_source.Root, _destination.Root, wholeRoot, items, bytesToCopy);
    }

    /// <summary>Runs a plan made by <see cref="Plan"/>. Idempotent: run again after any interruption, it finishes the move.</summary>
    public async Task<CacheMoveOutcome> MoveAsync(CacheMovePlan plan, CacheMoveOptions options, CancellationToken cancellationToken)
    {
        // The source copies are deleted in the end, so a source nobody may write to is refused before anything is copied.
        _source.EnsureWritable();
        _destination.EnsureWritable();
        var copies = await CopyAllAsync(plan, options, cancellationToken).ConfigureAwait(false);
        var failures = copies.Where(c => c.Error is not null).ToList();
        if (failures.Count > 0)
        {
            return Outcome(copies.Select(c => c.Error is not null ? c.Failed() : c.Kept(failures.Count)).ToList(), Array.Empty<string>());
        }

        var switched = plan.WholeRoot ? SwitchSettings(plan, options) : Array.Empty<string>();
        var results = new List<(ModelMoveResult, ModelCacheException?)>();
        foreach (var copy in copies)
        {
            results.Add(await DeleteSourceAsync(copy, options, cancellationToken).ConfigureAwait(false));
        }

        if (plan.WholeRoot && results.All(r => r.Item2 is null))
        {
            await _source.RemoveAbandonedDownloadsAsync(_catalog, cancellationToken).ConfigureAwait(false);
            await _source.RemoveLeftoversAsync(cancellationToken).ConfigureAwait(false);
            options.Journal?.Clear(_destination.Root);
        }

        return Outcome(results, switched);
    }

    private async Task<List<Copy>> CopyAllAsync(CacheMovePlan plan, CacheMoveOptions options, CancellationToken cancellationToken)
    {
        using var planner = new SourcePlanner(Array.Empty<string>(), mirrorOnly: true, offline: true, new NetworkOptions { FileSystem = _fileSystem });
        var saver = new ModelSaver(_destination, planner) { LockTimeout = LockTimeout };
        var source = new IModelSource[] { new CacheStoreSource(_source) };
        var copies = new List<Copy>();
        foreach (var (entry, model) in plan.Items)
        {
            var copy = new Copy(entry, model);
            copies.Add(copy);
            if (model is null)
            {
                copy.Error = new ModelCacheException("ExpectedHashUnknown", ModelCacheErrorKind.NotFound,
                    $"{entry.Name} is in no loaded catalog, so a copy of '{entry.Path}' could not be verified; it was not moved.",
                    $"Load the catalog that lists it with -CatalogPath, or remove it with 'Clear-ModelCache -Name {entry.Name} -CachePath {_source.Root}' and run the move again.");
                continue;
            }

            try
            {
                using (await LockSourceAsync(model, options, cancellationToken).ConfigureAwait(false))
                {
                    var saved = await saver.SaveFromAsync(model, source, false, options.Progress, options.Warn, cancellationToken).ConfigureAwait(false);
                    copy.Destination = saved.Path;
                    copy.AlreadyThere = saved.Source == TransferSource.Cache;
                    copy.Bytes = saved.Transfer?.BytesTransferred ?? 0;
                    await CarryOptimizedCopyAsync(model, options, cancellationToken).ConfigureAwait(false);
                }

                options.OnStep?.Invoke(MoveStep.Copied, model.Name);
            }
            catch (ModelCacheException ex) when (ex.ErrorId == "HashMismatch")
            {
                copy.Error = new ModelCacheException("HashMismatch", ModelCacheErrorKind.InvalidData,
                    $"The cached file of {model.Name} at '{entry.Path}' does not verify (expected SHA-256 {model.Sha256}), so it was not moved; it stays where it is.",
                    $"Repair it with 'Save-Model {model.Name} -CachePath {_source.Root}' (or remove it with Clear-ModelCache), then run the move again.", ex);
            }
            catch (ModelCacheException ex)
            {
                copy.Error = ex;
            }
            catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !cancellationToken.IsCancellationRequested)
            {
                copy.Error = CacheIOFailure.From(ex, model.Name);
            }
        }

        return copies;
    }

    /// <summary>
    /// Carries the model's ONNX Runtime–optimized copy and its key (Optimize-ModelCache -Precompile) along, the copy
    /// verified against the SHA-256 its key records, as Invoke-FaceDetect checks it before use. One that does not
    /// verify or cannot be carried stays behind (and goes with the source) with a warning saying how to rebuild it:
    /// an optimized copy is never lost silently. The caller holds the model's source lock.
    /// </summary>
    private async Task CarryOptimizedCopyAsync(ModelDefinition model, CacheMoveOptions options, CancellationToken cancellationToken)
    {
        var source = _source.GetOptimizedModelPath(model);
        var sourceKey = CacheFiles.OptimizedKeyPath(source);
        if (!File.Exists(source) && !File.Exists(sourceKey))
        {
            return;
        }

        string? problem;
        try
        {
            problem = await TryCarryAsync(model, source, sourceKey, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelCacheException ex)
        {
            problem = ex.Message;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = ex.Message;
        }

        if (problem is not null)
        {
            options.Warn?.Invoke($"The optimized copy of {model.Name} ('{source}') was not moved: {problem}. Run 'Optimize-ModelCache -Name {model.Name} -Precompile -CachePath {_destination.Root}' to build it again.");
        }
    }

    /// <returns>Null when the copy and its key are in place at the destination, else why not.</returns>
    private async Task<string?> TryCarryAsync(ModelDefinition model, string source, string sourceKey, CancellationToken cancellationToken)
    {
        if (!_source.Layout.IsContained(source, _source.Layout.StateRoot) || !_source.Layout.IsContained(sourceKey, _source.Layout.StateRoot))
        {
            return "it or its key is a link, or lies in a linked folder";
        }

        if (!File.Exists(source) || ReadKey(sourceKey) is not { } key)
        {
            return File.Exists(source) ? "its key file does not record its SHA-256" : "its key file is there but the copy is not";
        }

        var target = _destination.GetOptimizedModelPath(model);
        using (await _destination.LockAsync(model.Family, model.Member, LockTimeout, null, cancellationToken).ConfigureAwait(false))
        {
            var directory = Path.GetDirectoryName(target)!;
            _destination.Layout.EnsureContained(directory, _destination.Layout.StateRoot);
            Directory.CreateDirectory(directory);
            // Staged and hashed as it is copied, like every file the cache writes.
            using var staged = await StagedFile.OpenAsync(target, CacheFiles.TempPathFor(target), 0, null, FileShare.None, cancellationToken).ConfigureAwait(false);
            try
            {
                using (var input = RegularFile.Open(source, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan))
                {
                    await HashingCopier.CopyAsync(input, staged.Stream, staged.Hashes, 0, null, null, source, cancellationToken).ConfigureAwait(false);
                }

                await staged.CompleteAsync(cancellationToken).ConfigureAwait(false);
                if (!staged.Matches(key.Sha256))
                {
                    staged.Abort();
                    return $"its SHA-256 {staged.Sha256} is not the {key.Sha256} recorded when it was built";
                }

                // The copy first, then its key, as Optimize-ModelCache writes them: a reader between the two ignores the copy.
                staged.Promote();
                AtomicFile.WriteAllText(CacheFiles.OptimizedKeyPath(target), key.Text);
                return null;
            }
            catch
            {
                staged.Abort();
                throw;
            }
        }
    }

    /// <summary>
    /// The key file's text and the copy's own SHA-256 it records (bounded: a key is a few hundred bytes), or null.
    /// Read once, so the key written at the destination is the one whose hash was checked.
    /// </summary>
    private static (string Text, string Sha256)? ReadKey(string keyPath)
    {
        const long MaxKeyBytes = 64 * 1024;
        var info = new FileInfo(keyPath);
        if (!info.Exists || info.Length > MaxKeyBytes)
        {
            return null;
        }

        try
        {
            var text = RegularFile.ReadAllText(keyPath);
            return Newtonsoft.Json.Linq.JObject.Parse(text)["sha256"] is { Type: Newtonsoft.Json.Linq.JTokenType.String } sha
                && (string)sha! is { Length: 64 } hash ? (text, hash) : null;
        }
        catch (Newtonsoft.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Repoints every setting that named the old root. Recorded in the journal first, so a move killed after this
    /// point (when the settings already name the new root) is found again by the rerun.
    /// </summary>
    private IReadOnlyList<string> SwitchSettings(CacheMovePlan plan, CacheMoveOptions options)
    {
        var switched = new List<string>();
        if (_source.Layout.Kind == CacheLayoutKind.Native)
        {
            var naming = options.Settings.Where(s => Names(s.ReadCacheRoot(), options.Environment, plan.SourceRoot)).ToList();
            if (naming.Count > 0)
            {
                options.Journal?.Record(plan.SourceRoot, plan.DestinationRoot);
            }

            foreach (var setting in naming)
            {
                setting.WriteCacheRoot(plan.DestinationRoot);
                switched.Add(setting.Description);
            }

            WarnAboutUnswitchedLocations(plan, options, switched.Count > 0);
        }
        else
        {
            options.Warn?.Invoke($"No ModelCache setting names a {_source.Layout.Kind} root; point the tool that reads '{plan.SourceRoot}' (e.g. $env:{EnvironmentVariables.UnifaceCacheDir}) at '{plan.DestinationRoot}'.");
        }

        options.OnStep?.Invoke(MoveStep.Switched, string.Join("; ", switched));
        return switched;
    }

    /// <summary>Environment variables are the user's to set: a move says when one still names the old root, and never changes it.</summary>
    private void WarnAboutUnswitchedLocations(CacheMovePlan plan, CacheMoveOptions options, bool switchedAny)
    {
        if (options.Environment is not { } environment)
        {
            return;
        }

        if (Names(environment.GetVariable(EnvironmentVariables.Home), environment, plan.SourceRoot))
        {
            options.Warn?.Invoke($"$env:{EnvironmentVariables.Home} still names the old root '{plan.SourceRoot}' and was not changed; set it to '{plan.DestinationRoot}' where it is defined.");
        }
        else if (!switchedAny && !options.Settings.Any(s => Names(s.ReadCacheRoot(), environment, plan.DestinationRoot)))
        {
            options.Warn?.Invoke($"No ModelCache location setting named '{plan.SourceRoot}', so none was switched. If it was your default cache, run 'Set-ModelCacheLocation -Path {plan.DestinationRoot} -Scope CurrentUser' to use the moved one.");
        }
    }

    /// <summary>Verifies the destination copy again, under both locks, and only then deletes the source copy.</summary>
    private async Task<(ModelMoveResult, ModelCacheException?)> DeleteSourceAsync(Copy copy, CacheMoveOptions options, CancellationToken cancellationToken)
    {
        var model = copy.Model!;
        try
        {
            using (await LockSourceAsync(model, options, cancellationToken).ConfigureAwait(false))
            using (await _destination.LockAsync(model.Family, model.Member, LockTimeout, null, cancellationToken).ConfigureAwait(false))
            {
                var path = _destination.GetModelPath(model);
                options.Progress?.Report(new TransferProgress(model.Name, TransferPhase.Verifying, 0, copy.Entry.Size, path));
                var check = (await _destination.VerifyAsync(model, VerifyPolicy.HashAlways, null, null, cancellationToken).ConfigureAwait(false)).Result;
                options.Progress?.Report(new TransferProgress(model.Name, TransferPhase.Completed, 0, 0, path));
                if (!check.IsValid)
                {
                    throw new ModelCacheException("MoveDestinationNotVerified", ModelCacheErrorKind.InvalidData,
                        $"The copy of {model.Name} at '{path}' no longer verifies ({check.Status}), so its source copy '{copy.Entry.Path}' was kept.",
                        "Something changed the destination during the move; run the move again, which copies it anew.");
                }

                _destination.RecordVerification(model, check, used: false);
                if (File.Exists(copy.Entry.Path))
                {
                    _source.Remove(copy.Entry);
                }
            }

            options.OnStep?.Invoke(MoveStep.Deleted, model.Name);
            return copy.Done();
        }
        catch (ModelCacheException ex)
        {
            return copy.Failed(ex);
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            var failure = CacheIOFailure.From(ex, model.Name);
            return copy.Failed(failure);
        }
    }

    private Task<FileLock> LockSourceAsync(ModelDefinition model, CacheMoveOptions options, CancellationToken cancellationToken) =>
        _source.LockAsync(model.Family, model.Member, LockTimeout, () => options.Warn?.Invoke($"Waiting for another process that is using {model.Name} in '{_source.Root}'…"), cancellationToken);

    /// <summary>Compared with links resolved, so a destination reached through a link into the source is still caught.</summary>
    private void CheckOverlap()
    {
        var source = RealPath.Resolve(_source.Root);
        var destination = RealPath.Resolve(_destination.Root);
        if (PathRules.IsSameOrInside(destination, source))
        {
            throw new ModelCacheException("MoveDestinationInsideSource", ModelCacheErrorKind.InvalidArgument,
                $"Cannot move the cache '{_source.Root}' to '{_destination.Root}': the destination is that cache root or a folder inside it{Through(destination, _destination.Root)}.",
                $"Choose a destination outside '{_source.Root}'. To finish a move interrupted after its location setting was switched, run it again with -CachePath naming the old root.");
        }

        if (PathRules.IsSameOrInside(source, destination))
        {
            throw new ModelCacheException("MoveSourceInsideDestination", ModelCacheErrorKind.InvalidArgument,
                $"Cannot move the cache '{_source.Root}' to '{_destination.Root}': the cache lies inside the destination{Through(source, _source.Root)}, whose layout would take the old cache's folders for its own, and removing the old root's folders could remove the destination's.",
                "Choose a destination that neither is nor contains the cache root, such as a sibling folder.");
        }
    }

    private static string Through(string real, string written) =>
        string.Equals(real, Path.GetFullPath(written).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal) ? string.Empty : $" (through a link: it is '{real}')";

    /// <summary>True when a setting's value, read as the location resolver reads it, is <paramref name="root"/>.</summary>
    private static bool Names(string? setting, IEnvironment? environment, string root)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return false;
        }

        try
        {
            return PathRules.IsSame(environment is null ? Path.GetFullPath(setting!.Trim()) : CacheLocationResolver.Normalize(setting!, environment), root);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return false; // Not a path at all: it names no root.
        }
    }


    private ModelDefinition? ModelOf(ModelCacheEntry entry) => _catalog.DefinitionOf(entry);

    private bool HasFullCopy(ModelDefinition model)
    {
        var file = new FileInfo(_destination.GetModelPath(model));
        return file.Exists && model.Size is { } size && file.Length == size;
    }

    private static CacheMoveOutcome Outcome(IReadOnlyList<(ModelMoveResult Result, ModelCacheException? Error)> results, IReadOnlyList<string> switched) =>
        new(results.Select(r => r.Result).ToList(), results.Where(r => r.Error is not null).Select(r => (r.Result, r.Error!)).ToList(), switched);

    /// <summary>One model's way through the phases.</summary>
    private sealed class Copy
    {
        public Copy(ModelCacheEntry entry, ModelDefinition? model)
        {
            Entry = entry;
            Model = model;
        }

        public ModelCacheEntry Entry { get; }

        public ModelDefinition? Model { get; }

        public string? Destination { get; set; }

        public bool AlreadyThere { get; set; }

        public long Bytes { get; set; }

        public ModelCacheException? Error { get; set; }

        public (ModelMoveResult, ModelCacheException?) Done() =>
            (Result(AlreadyThere ? ModelMoveStatus.AlreadyAtDestination : ModelMoveStatus.Moved, null), null);

        public (ModelMoveResult, ModelCacheException?) Kept(int failed) =>
            (Result(ModelMoveStatus.Copied, $"verified at the destination, but kept at the source too because {failed} model(s) of the move failed; run the move again once they are fixed"), null);

        public (ModelMoveResult, ModelCacheException?) Failed() => Failed(Error!);

        public (ModelMoveResult, ModelCacheException?) Failed(ModelCacheException error) => (Result(ModelMoveStatus.Failed, error.Message), error);

        private ModelMoveResult Result(ModelMoveStatus status, string? reason) =>
            new(Entry.Name, status, Entry.Path, status == ModelMoveStatus.Failed && Error is not null ? null : Destination, Entry.Size, Bytes, reason);
    }
}
