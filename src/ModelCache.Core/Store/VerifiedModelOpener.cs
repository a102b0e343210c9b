using System;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.IO;

namespace ModelCache.Store;

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
/// best-effort LastUsed. The check is <see cref="FileVerifier"/>'s with <see cref="VerifyPolicy.FingerprintMayVouch"/>:
/// a file hashed by this process (a save, a test, an earlier use) is not hashed again while its fingerprint
/// holds; across processes the hash is skipped only with a fingerprint from this user's own
/// <see cref="FingerprintStore"/>, and only for a root that only this user can write (a fingerprint kept
/// inside a root that others can write is attacker data); otherwise it is hashed.
/// </summary>
public sealed class VerifiedModelOpener
{
    private readonly FileVerifier _verifier;

    /// <param name="verifier">The record of files already hashed: <see cref="FileVerifier.Process"/> to share the process's; by default a new one.</param>
    public VerifiedModelOpener(FileVerifier? verifier = null)
    {
        _verifier = verifier ?? new FileVerifier();
    }

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

        return await RecordUseAsync(store, model, verified, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a use of a file <see cref="TryVerifyAsync"/> just verified (with the hash it computed, if any), without
    /// verifying it again: a second check would say "ProcessRecord" and drop the fresh hash result from the entry.
    /// </summary>
    public async Task<OpenedModel> RecordUseAsync(CacheStore store, ModelDefinition model, VerifiedFile verified, CancellationToken cancellationToken = default)
    {
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
        if (CacheFiles.IsLink(path) || FileIdentity.Read(path) is null)
        {
            return null;
        }

        var user = userFingerprints is null ? null : new UserFingerprints(userFingerprints, FileIdentity.IsWritableOnlyByCurrentUser(store.Root, path));
        var check = await _verifier.VerifyAsync(model.Name, path, model.Sha256, VerifyPolicy.FingerprintMayVouch, user, null, cancellationToken).ConfigureAwait(false);
        if (!check.Result.IsValid || check.Fingerprint is not { } fingerprint)
        {
            // Wrong bytes, or changed while it was hashed.
            return null;
        }

        return new VerifiedFile(path, fingerprint, check.By, check.Hashed ? check.Result : null);
    }
}
