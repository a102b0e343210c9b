using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.IO;
using ModelCache.Errors;

namespace ModelCache.Integrity;

/// <summary>Checks a file against an expected SHA-256 by hashing it: the step under <see cref="FileVerifier"/>, which every caller goes through (it records what it hashed).</summary>
internal static class HashVerifier
{
    public static async Task<ModelHashResult> VerifyAsync(string? name, string path, string? expectedSha256, IProgress<long>? bytesHashed = null, CancellationToken cancellationToken = default)
    {
        var expected = expectedSha256?.Trim().ToLowerInvariant();
        switch (RegularFile.KindOf(path))
        {
            case FileKind.Missing:
                return new ModelHashResult(name, path, expected, null, HashStatus.Missing);
            case not (FileKind.Regular or FileKind.Unknown) and var kind:
                // Not "missing": something is there, and the user has to remove it.
                throw new NotARegularFileException(path, kind);
        }

        string actual;
        try
        {
            actual = await Sha256Hasher.HashFileAsync(path, bytesHashed, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Removed (e.g. by another process's Clear-ModelCache) between the check above and the open.
            return new ModelHashResult(name, path, expected, null, HashStatus.Missing);
        }

        var status = string.IsNullOrEmpty(expected) ? HashStatus.Unknown
            : string.Equals(actual, expected, StringComparison.Ordinal) ? HashStatus.Valid
            : HashStatus.Mismatch;
        return new ModelHashResult(name, path, expected, actual, status);
    }
}
