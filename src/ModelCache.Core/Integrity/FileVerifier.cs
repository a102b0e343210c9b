using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;

namespace ModelCache.Integrity;

/// <summary>What a check may take on trust.</summary>
public enum VerifyPolicy
{
    /// <summary>Hash the file now (Test-ModelHash, Get-ModelCache -Verify, Test-ModelCache, a save's check, a move): that is what they are for.</summary>
    HashAlways,

    /// <summary>A use (opening a model for detection, serving it): a fingerprint recorded by an earlier full hash may vouch for the bytes.</summary>
    FingerprintMayVouch,
}

/// <summary>How a file was found to have its hash.</summary>
public enum VerifiedBy
{
    /// <summary>This process hashed the same file (same size, write time, file id and change time) before.</summary>
    ProcessRecord,

    /// <summary>This user hashed it in an earlier process, and only this user can write the cache root.</summary>
    UserFingerprint,

    /// <summary>Hashed now.</summary>
    Hash,
}

/// <summary>This user's fingerprints on disk, and whether they may vouch for the file at hand (only this user can write where it lies).</summary>
public sealed class UserFingerprints
{
    public UserFingerprints(FingerprintStore store, bool trusted)
    {
        Store = store;
        Trusted = trusted;
    }

    public FingerprintStore Store { get; }

    public bool Trusted { get; }
}

/// <summary>One check of one file by <see cref="FileVerifier"/>.</summary>
public sealed class FileCheck
{
    internal FileCheck(ModelHashResult result, FileFingerprint? fingerprint, VerifiedBy by, long bytesHashed)
    {
        Result = result;
        Fingerprint = fingerprint;
        By = by;
        BytesHashed = bytesHashed;
    }

    /// <summary>The outcome; when vouched for, it carries the recorded hash as the actual one.</summary>
    public ModelHashResult Result { get; }

    /// <summary>What the file looked like when it was checked; null when it is missing or changed while it was hashed.</summary>
    public FileFingerprint? Fingerprint { get; }

    public VerifiedBy By { get; }

    /// <summary>Bytes read to hash it now: 0 when a fingerprint vouched.</summary>
    public long BytesHashed { get; }

    /// <summary>True when the hash was computed now.</summary>
    public bool Hashed => By == VerifiedBy.Hash;
}

/// <summary>
/// The one "is this file's content what it should be?" check, with a policy: <see cref="VerifyPolicy.HashAlways"/>
/// hashes, <see cref="VerifyPolicy.FingerprintMayVouch"/> lets an earlier full hash of the very same file (size,
/// write time, file id, change time) answer. Every full hash, and every file written while hashed
/// (<see cref="Record"/>), is remembered for the process and, where the caller trusts them, in this user's
/// <see cref="FingerprintStore"/>, so a use after a save or a test hashes nothing.
/// </summary>
public sealed class FileVerifier
{
    private readonly ConcurrentDictionary<string, (FileFingerprint Fingerprint, string Sha256)> _hashed = new(StringComparer.Ordinal);

    /// <summary>The process's record, shared by every save, test and use in it (a new instance plays a new process).</summary>
    public static FileVerifier Process { get; } = new();

    public async Task<FileCheck> VerifyAsync(string? name, string path, string? expectedSha256, VerifyPolicy policy, UserFingerprints? user = null,
        IProgress<long>? bytesHashed = null, CancellationToken cancellationToken = default)
    {
        var expected = expectedSha256?.Trim().ToLowerInvariant();
        var before = FileIdentity.Read(path);
        if (policy == VerifyPolicy.FingerprintMayVouch && before is { } fingerprint && !string.IsNullOrEmpty(expected))
        {
            if (_hashed.TryGetValue(path, out var known) && known.Fingerprint.Equals(fingerprint) && SameHash(known.Sha256, expected!))
            {
                return Vouched(name, path, expected!, fingerprint, VerifiedBy.ProcessRecord);
            }

            // File ids exist only where the OS tells them; without one a fingerprint proves too little.
            if (user is { Trusted: true } && fingerprint.FileId != 0 && user.Store.Find(path, fingerprint) is { } recorded && SameHash(recorded, expected!))
            {
                _hashed[path] = (fingerprint, expected!);
                return Vouched(name, path, expected!, fingerprint, VerifiedBy.UserFingerprint);
            }
        }

        long hashed = 0;
        var counting = new CountingProgress(bytesHashed, done => hashed = done);
        var result = await HashVerifier.VerifyAsync(name, path, expected, counting, cancellationToken).ConfigureAwait(false);
        var after = FileIdentity.Read(path);
        if (result.Actual is null || before is not { } start || !(after is { } end && end.Equals(start)))
        {
            // Missing, or changed while it was hashed: nothing is remembered.
            _hashed.TryRemove(path, out _);
            return new FileCheck(result, null, VerifiedBy.Hash, hashed);
        }

        Remember(path, start, result.Actual, user);
        return new FileCheck(result, start, VerifiedBy.Hash, hashed);
    }

    /// <summary>
    /// Remembers a file this process has just written and hashed while writing (a save, an import, a copy adopted from
    /// another library), as it is now on disk: its later use needs no hash.
    /// </summary>
    public void Record(string path, string sha256, UserFingerprints? user = null)
    {
        if (FileIdentity.Read(path) is { } fingerprint)
        {
            Remember(path, fingerprint, sha256.ToLowerInvariant(), user);
        }
    }

    /// <summary>Forgets <paramref name="path"/> (removed or replaced by this process).</summary>
    public void Forget(string path) => _hashed.TryRemove(path, out _);

    private void Remember(string path, FileFingerprint fingerprint, string sha256, UserFingerprints? user)
    {
        _hashed[path] = (fingerprint, sha256);
        if (user is { Trusted: true } && fingerprint.FileId != 0)
        {
            user.Store.Record(path, fingerprint, sha256);
        }
    }

    private static FileCheck Vouched(string? name, string path, string expected, FileFingerprint fingerprint, VerifiedBy by) =>
        new(new ModelHashResult(name, path, expected, expected, HashStatus.Valid), fingerprint, by, 0);

    private static bool SameHash(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>Passes progress on and keeps the last count.</summary>
    private sealed class CountingProgress : IProgress<long>
    {
        private readonly IProgress<long>? _inner;
        private readonly Action<long> _last;

        public CountingProgress(IProgress<long>? inner, Action<long> last)
        {
            _inner = inner;
            _last = last;
        }

        public void Report(long value)
        {
            _last(value);
            _inner?.Report(value);
        }
    }
}
