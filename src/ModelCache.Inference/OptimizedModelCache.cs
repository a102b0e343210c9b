using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Store;
using Newtonsoft.Json;

namespace ModelCache.Inference;

/// <summary>A usable optimized copy, or why there is none.</summary>
public sealed class OptimizedModelLookup
{
    internal OptimizedModelLookup(string? path, string? sha256, string reason)
    {
        Path = path;
        Sha256 = sha256;
        Reason = reason;
    }

    /// <summary>The copy to load; null when the original must be used.</summary>
    public string? Path { get; }

    public string? Sha256 { get; }

    /// <summary>Why the copy is (not) used, for -Verbose.</summary>
    public string Reason { get; }
}

/// <summary>
/// ONNX Runtime–optimized copies of cached models, kept beside each model (<c>model.onnx.optimized.onnx</c>) with
/// their key (<see cref="OptimizedModelKey"/>) in <c>model.onnx.optimized.json</c>. Written only by
/// <see cref="PrecompileAsync"/> (Optimize-ModelCache -Precompile), never implicitly; read by
/// <see cref="Find"/>, which refuses a copy whose key or bytes do not match. A copy's hash is checked at most once
/// per process for a given file fingerprint.
/// </summary>
public sealed class OptimizedModelCache
{
    /// <summary>
    /// ORT_ENABLE_EXTENDED: every graph rewrite that holds on any CPU. ORT_ENABLE_ALL adds layout transforms for this
    /// machine's instruction set (NCHWc), which ONNX Runtime documents as not safe to save for another machine; the
    /// pre-optimized session still runs them online, so nothing is lost at run time.
    /// </summary>
    public const GraphOptimizationLevel Level = GraphOptimizationLevel.ORT_ENABLE_EXTENDED;

    private const long MaxKeyBytes = 64 * 1024;
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);
    private readonly FileVerifier _verifier;

    /// <param name="verifier">The record of files already hashed: <see cref="FileVerifier.Process"/> to share the process's; by default a new one.</param>
    public OptimizedModelCache(FileVerifier? verifier = null)
    {
        _verifier = verifier ?? new FileVerifier();
    }

    /// <summary>Where the key of the copy at <paramref name="optimizedPath"/> is kept.</summary>
    public static string KeyPath(string optimizedPath) => CacheFiles.OptimizedKeyPath(optimizedPath);

    /// <summary>
    /// The optimized copy of <paramref name="model"/> (whose verified original hashes to <paramref name="sourceSha256"/>)
    /// when one exists for this ONNX Runtime, level and architecture, and its bytes are the ones recorded. Writes nothing.
    /// </summary>
    public async Task<OptimizedModelLookup> FindAsync(CacheStore store, ModelDefinition model, string sourceSha256, CancellationToken cancellationToken = default)
    {
        var path = store.GetOptimizedModelPath(model);
        var keyPath = KeyPath(path);
        if (!File.Exists(path) && !File.Exists(keyPath))
        {
            return new OptimizedModelLookup(null, null, "no optimized copy (Optimize-ModelCache -Precompile writes one)");
        }

        if (!store.Layout.IsContained(path, store.Layout.StateRoot) || !store.Layout.IsContained(keyPath, store.Layout.StateRoot))
        {
            return Ignored(path, "it or its key is a link, or lies in a linked folder");
        }

        var key = ReadKey(keyPath, out var unreadable);
        if (key is null)
        {
            return Ignored(path, unreadable!);
        }

        if (key.Mismatch(OptimizedModelKey.Current(sourceSha256, Level)) is { } mismatch)
        {
            return Ignored(path, mismatch);
        }

        if (FileIdentity.Read(path) is null)
        {
            return Ignored(path, "its key is there but the copy is not");
        }

        // A use: the copy's hash is checked at most once per process while its fingerprint holds.
        var check = await _verifier.VerifyAsync(null, path, key.Sha256, VerifyPolicy.FingerprintMayVouch, null, null, cancellationToken).ConfigureAwait(false);
        if (!check.Result.IsValid || check.Fingerprint is null)
        {
            return Ignored(path, $"its SHA-256 {check.Result.Actual} is not the {key.Sha256} recorded when it was built");
        }

        return new OptimizedModelLookup(path, key.Sha256, $"optimized copy '{path}' (ONNX Runtime {key.OnnxRuntimeVersion}, {key.OptimizationLevel}, SHA-256 {key.Sha256})");
    }

    /// <summary>
    /// Writes the optimized copy of a cached, verified <paramref name="model"/> under its lock: ONNX Runtime saves the
    /// optimized graph to a temporary name (SessionOptions.OptimizedModelFilePath), which is hashed, renamed into
    /// place and recorded with its key. Null when an up-to-date copy is already there. Fails with ModelNotCached or
    /// HashMismatch when the original is absent or does not verify: a copy is never built from unverified bytes.
    /// </summary>
    public async Task<CacheOptimizeAction?> PrecompileAsync(CacheStore store, ModelDefinition model, CancellationToken cancellationToken = default)
    {
        store.EnsureContained(model);
        using (await store.LockAsync(model.Family, model.Member, LockTimeout, null, cancellationToken).ConfigureAwait(false))
        {
            var source = store.GetModelPath(model);
            var check = (await store.VerifyAsync(model, VerifyPolicy.HashAlways, null, null, cancellationToken).ConfigureAwait(false)).Result;
            if (CacheFiles.IsLink(source) || check.Status == HashStatus.Missing)
            {
                throw new ModelCacheException("ModelNotCached", ModelCacheErrorKind.NotFound,
                    $"{model.Name} is not in the cache at '{store.Root}', so there is nothing to precompile.", $"Run 'Save-Model {model.Name}' first.");
            }

            if (!check.IsValid)
            {
                throw new ModelCacheException("HashMismatch", ModelCacheErrorKind.InvalidData,
                    $"{model.Name} at '{source}' hashes to {check.Actual}, not the catalog's {check.Expected}; it is not precompiled.",
                    "Run Optimize-ModelCache (without -Precompile) to remove it, then Save-Model to fetch it again.");
            }

            if ((await FindAsync(store, model, check.Actual!, cancellationToken).ConfigureAwait(false)).Path is not null)
            {
                return null;
            }

            var target = store.GetOptimizedModelPath(model);
            var directory = Path.GetDirectoryName(target)!;
            store.Layout.EnsureContained(directory, store.Layout.StateRoot);
            Directory.CreateDirectory(directory);
            foreach (var existing in new[] { target, KeyPath(target) })
            {
                if (CacheFiles.IsLink(existing))
                {
                    File.Delete(existing); // Never written through: a planted link goes, the copy takes its place.
                }
            }

            var clock = Stopwatch.StartNew();
            var temp = CacheFiles.TempPathFor(target);
            try
            {
                // ONNX Runtime writes the copy itself; it comes into the cache the way every file does: hashed, flushed, renamed into place.
                Optimize(source, temp);
                var (sha256, size, _) = await StagedFile.AdoptAsync(temp, target, null, cancellationToken).ConfigureAwait(false);
                var key = OptimizedModelKey.Current(check.Actual!, Level);
                key.Sha256 = sha256;
                key.Size = size;
                key.CreatedAt = DateTimeOffset.UtcNow;

                // The copy first, then its key: a reader between the two finds a key whose hash the copy does not match, and ignores it.
                AtomicFile.WriteAllText(KeyPath(target), JsonConvert.SerializeObject(key, Formatting.Indented));
                _verifier.Record(target, sha256);
                return new CacheOptimizeAction(CacheOptimizeActionKind.Precompiled, model.Name, target, 0,
                    $"ONNX Runtime {key.OnnxRuntimeVersion}, {key.OptimizationLevel}: {key.Size} bytes, SHA-256 {sha256}, from {new FileInfo(source).Length} bytes in {clock.ElapsedMilliseconds} ms");
            }
            finally
            {
                if (File.Exists(temp))
                {
                    File.Delete(temp);
                }
            }
        }
    }

    private static void Optimize(string source, string destination)
    {
        // Only a recognised detector is optimized, and its session is bounded as one that runs (ModelAdmission).
        var admitted = ModelAdmission.Check(source);
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = Level,
            OptimizedModelFilePath = destination,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        ModelAdmission.Bound(options, admitted);
        try
        {
            // Creating the session runs the optimizers and saves the result; the session itself is not needed.
            using var session = new InferenceSession(source, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelCacheException("ModelLoadFailed", ModelCacheErrorKind.InvalidData,
                $"ONNX Runtime cannot optimize '{source}': {ex.Message}", "Check that the file is a valid ONNX model (Test-ModelHash, or Save-Model -Force).", ex);
        }
    }

    private static OptimizedModelKey? ReadKey(string keyPath, out string? reason)
    {
        reason = null;
        try
        {
            var info = new FileInfo(keyPath);
            if (!info.Exists || info.Length > MaxKeyBytes)
            {
                reason = info.Exists ? "its key file is too large" : "it has no key file";
                return null;
            }

            var key = JsonConvert.DeserializeObject<OptimizedModelKey>(RegularFile.ReadAllText(keyPath));
            reason = key is null ? "its key file is empty" : null;
            return key;
        }
        catch (JsonException ex)
        {
            reason = "its key file is not valid: " + ex.Message;
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reason = "its key file cannot be read: " + ex.Message;
            return null;
        }
    }

    private static OptimizedModelLookup Ignored(string path, string why) => new(null, null, $"optimized copy '{path}' ignored: {why}");
}
