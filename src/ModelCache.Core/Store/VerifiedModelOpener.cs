using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.IO;

namespace ModelCache.Store;

/// <summary>How a cached model file was found to match the catalog when it was opened for use.</summary>
public enum VerifiedBy
{
    /// <summary>This process hashed the same file (same size, write time, file id and change time) before.</summary>
    ProcessRecord,

    /// <summary>This user hashed it in an earlier process, and only this user can write the cache root.</summary>
    UserFingerprint,

    /// <summary>Hashed now.</summary>
    Hash,
}

/// <summary>A cached model opened for use.</summary>
public sealed class OpenedModel
{
    public OpenedModel(ModelCacheEntry entry, VerifiedBy verifiedBy, long bytesHashed)
    {
        Entry = entry;
        VerifiedBy = verifiedBy;
        BytesHashed = bytesHashed;
    }

    public ModelCacheEntry Entry { get; }

    public VerifiedBy VerifiedBy { get; }

    public long BytesHashed { get; }
}

/// <summary>A cached file found to match the catalog, and the fingerprint it had when it did.</summary>
public sealed class VerifiedFile
{
    internal VerifiedFile(string path, FileFingerprint fingerprint, VerifiedBy by, ModelHashResult? check)
    {
        Path = path;
        Fingerprint = fingerprint;
        By = by;
        Check = check;
    }

    public string Path { get; }

    /// <summary>What the file looked like when it verified: a handle opened later is the same file only if the path still shows this.</summary>
    public FileFingerprint Fingerprint { get; }

    public VerifiedBy By { get; }

    /// <summary>The hash check made now, if one was.</summary>
    public ModelHashResult? Check { get; }
}

/// <summary>
/// Using a model is not acquiring it: opens a cached model file for a consumer (face detection) after
/// making sure it matches the catalog, without re-hashing it on every call and writing nothing but a
/// best-effort LastUsed. A fingerprint kept inside a root that others can write is attacker data, so:
/// the file is hashed at most once per process (a record keyed by path, size, write time, file id and
/// change time); across processes the hash is skipped only with a fingerprint from this user's own
/// <see cref="FingerprintStore"/>, and only for a root that only this user can write; otherwise it is hashed.
/// </summary>
public sealed class VerifiedModelOpener
{
    private readonly ConcurrentDictionary<string, (FileFingerprint Fingerprint, string Sha256)> _hashedInThisProcess = new(StringComparer.Ordinal);

    /// <summary>
    /// The model's cached file, verified; null when it is absent, a link, or does not match the catalog
    /// (the caller then acquires it again).
    /// </summary>
    public async Task<OpenedModel?> TryOpenAsync(CacheStore store, ModelDefinition model, FingerprintStore? userFingerprints, CancellationToken cancellationToken = default)
    {
        if (await TryVerifyAsync(store, model, userFingerprints, cancellationToken).ConfigureAwait(false) is not { } verified)
        {
            return null;
        }

        var entry = await store.RecordUseAsync(model, verified.Check, cancellationToken).ConfigureAwait(false);
        return new OpenedModel(entry, verified.By, verified.Check is null ? 0 : verified.Fingerprint.Size);
    }

    /// <summary>
    /// The fingerprint of the model's cached file when it matches the catalog, by the same rules as <see cref="TryOpenAsync"/>
    /// but recording no use (a listing is not a use); null when it is absent, a link, or does not match.
    /// </summary>
    public async Task<VerifiedFile?> TryVerifyAsync(CacheStore store, ModelDefinition model, FingerprintStore? userFingerprints, CancellationToken cancellationToken = default)
    {
        store.EnsureContained(model);
        var path = store.GetModelPath(model);
        if (CacheFiles.IsLink(path) || FileIdentity.Read(path) is not { } fingerprint)
        {
            return null;
        }

        if (_hashedInThisProcess.TryGetValue(path, out var known) && known.Fingerprint.Equals(fingerprint) && SameHash(known.Sha256, model.Sha256))
        {
            return new VerifiedFile(path, fingerprint, VerifiedBy.ProcessRecord, null);
        }

        // File ids exist only where the OS tells them; without one a fingerprint proves too little.
        var trusted = userFingerprints is not null && fingerprint.FileId != 0 && FileIdentity.IsWritableOnlyByCurrentUser(store.Root, path);
        if (trusted && userFingerprints!.Find(path, fingerprint) is { } recorded && SameHash(recorded, model.Sha256))
        {
            _hashedInThisProcess[path] = (fingerprint, model.Sha256);
            return new VerifiedFile(path, fingerprint, VerifiedBy.UserFingerprint, null);
        }

        var check = await HashVerifier.VerifyAsync(model.Name, path, model.Sha256, null, cancellationToken).ConfigureAwait(false);
        if (!check.IsValid || !(FileIdentity.Read(path) is { } after && after.Equals(fingerprint)))
        {
            // Wrong bytes, or changed while it was hashed: nothing is remembered.
            _hashedInThisProcess.TryRemove(path, out _);
            return null;
        }

        _hashedInThisProcess[path] = (fingerprint, model.Sha256);
        if (trusted)
        {
            userFingerprints!.Record(path, fingerprint, check.Actual!);
        }

        return new VerifiedFile(path, fingerprint, VerifiedBy.Hash, check);
    }

    private static bool SameHash(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
