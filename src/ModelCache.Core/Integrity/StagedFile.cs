using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.IO;

namespace ModelCache.Integrity;

/// <summary>
/// The one way a file is written into a cache: staged under a work name beside its final one (opened at an offset to
/// resume, the bytes already there fed to the hash first), hashed as it is written, flushed to disk, verified, then
/// renamed into place in one step (<see cref="Promote"/>) or deleted (<see cref="Abort"/>). Nothing is under the final
/// name until the bytes are whole and known. Files another library writes (ONNX Runtime's optimized copies) come in
/// through <see cref="AdoptAsync"/>: hashed, flushed and promoted the same way.
/// </summary>
/// <remarks>The caller writes through <see cref="Stream"/>, feeding every chunk to <see cref="Hashes"/> (the copier does both at once).</remarks>
public sealed class StagedFile : IDisposable
{
    private readonly IncrementalHash _sha256;
    private readonly IncrementalHash? _extra;
    private FileStream? _stream;

    private StagedFile(string finalPath, string path, FileStream stream, IncrementalHash sha256, IncrementalHash? extra, long offset)
    {
        FinalPath = finalPath;
        Path = path;
        _stream = stream;
        _sha256 = sha256;
        _extra = extra;
        Offset = offset;
        Hashes = extra is null ? new[] { sha256 } : new[] { sha256, extra };
    }

    public string FinalPath { get; }

    /// <summary>The work file being written.</summary>
    public string Path { get; }

    /// <summary>The bytes that were already there when it was opened (resumed), all hashed.</summary>
    public long Offset { get; }

    /// <summary>Positioned at <see cref="Offset"/>; write here and feed <see cref="Hashes"/> the same bytes.</summary>
    public FileStream Stream => _stream ?? throw new ObjectDisposedException(Path);

    /// <summary>SHA-256 first, then the extra hash the caller asked for (a git blob SHA-1), if any.</summary>
    public IReadOnlyList<IncrementalHash> Hashes { get; }

    /// <summary>After <see cref="CompleteAsync"/>: the SHA-256 of the whole file.</summary>
    public string? Sha256 { get; private set; }

    /// <summary>After <see cref="CompleteAsync"/>: the extra hash of the whole file, if one was asked for.</summary>
    public string? ExtraHash { get; private set; }

    /// <summary>After <see cref="CompleteAsync"/>: the file's length.</summary>
    public long Length { get; private set; }

    /// <summary>
    /// Opens <paramref name="path"/> (the work name, see <see cref="CacheFiles.PartialPathFor"/>) for <paramref name="finalPath"/>,
    /// keeping its first <paramref name="offset"/> bytes (hashed now) and dropping the rest. A link planted at the work name is
    /// removed, never written through.
    /// </summary>
    /// <param name="share">Others may read it while it grows (the site server streams a partial download) with <see cref="FileShare.Read"/>.</param>
    public static async Task<StagedFile> OpenAsync(string finalPath, string path, long offset = 0, IncrementalHash? extraHash = null, FileShare share = FileShare.None,
        CancellationToken cancellationToken = default)
    {
        if (CacheFiles.IsLink(path))
        {
            File.Delete(path);
        }

        var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        FileStream? stream = null;
        try
        {
            stream = RegularFile.Open(path, offset > 0 ? FileMode.OpenOrCreate : FileMode.Create, FileAccess.ReadWrite, share, Sha256Hasher.BufferSize, FileOptions.Asynchronous);
            stream.SetLength(offset);
            if (offset > 0)
            {
                stream.Seek(0, SeekOrigin.Begin);
                if (await Sha256Hasher.AppendAsync(stream, extraHash is null ? new[] { sha256 } : new[] { sha256, extraHash }, offset, null, cancellationToken).ConfigureAwait(false) != offset)
                {
                    throw new IOException($"The partial file '{path}' is shorter than recorded.");
                }

                stream.Seek(offset, SeekOrigin.Begin);
            }

            return new StagedFile(finalPath, path, stream, sha256, extraHash, offset);
        }
        catch
        {
            stream?.Dispose();
            sha256.Dispose();
            throw;
        }
    }

    /// <summary>Flushes the bytes to disk (fsync) and closes the file; the hashes are then known.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        var stream = Stream;
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        stream.Flush(true);
        Length = stream.Length;
        stream.Dispose();
        _stream = null;
        Sha256 = Sha256Hasher.ToHex(_sha256.GetHashAndReset());
        ExtraHash = _extra is null ? null : Sha256Hasher.ToHex(_extra.GetHashAndReset());
    }

    /// <summary>After <see cref="CompleteAsync"/>: whether the file is the one expected.</summary>
    public bool Matches(string expectedSha256) => Sha256 is not null && string.Equals(Sha256, expectedSha256.Trim(), StringComparison.OrdinalIgnoreCase);

    /// <summary>Renames the completed file over <see cref="FinalPath"/> in one step.</summary>
    public void Promote()
    {
        if (Sha256 is null)
        {
            throw new InvalidOperationException($"'{Path}' is promoted before it was completed.");
        }

        AtomicFile.Promote(Path, FinalPath);
    }

    /// <summary>Closes and deletes the work file.</summary>
    public void Abort()
    {
        Dispose();
        FileCleanup.TryDelete(Path);
    }

    /// <summary>Closes the work file and keeps it (for a later resume).</summary>
    /// <remarks>
    /// A write that fails while closing (a full disk) is not thrown again: the failure that stopped the writer is the one
    /// reported, and a resume hashes what is really on disk. A completed file was flushed by <see cref="CompleteAsync"/>.
    /// </remarks>
    public void Dispose()
    {
        try
        {
            _stream?.Dispose();
        }
        catch (IOException)
        {
        }

        _stream = null;
        _sha256.Dispose();
        _extra?.Dispose();
    }

    /// <summary>
    /// Brings in <paramref name="writtenPath"/>, a file another library wrote under a work name (see
    /// <see cref="CacheFiles.TempPathFor"/>): hashed, flushed to disk, and renamed over <paramref name="finalPath"/>;
    /// deleted instead when <paramref name="accept"/> refuses its SHA-256. Returns the SHA-256.
    /// </summary>
    public static async Task<(string Sha256, long Length, bool Promoted)> AdoptAsync(string writtenPath, string finalPath, Func<string, bool>? accept = null,
        CancellationToken cancellationToken = default)
    {
        try
        {
            string sha256;
            long length;
            using (var stream = RegularFile.Open(writtenPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                length = await Sha256Hasher.AppendAsync(stream, new[] { hash }, long.MaxValue, null, cancellationToken).ConfigureAwait(false);
                stream.Flush(true);
                sha256 = Sha256Hasher.ToHex(hash.GetHashAndReset());
            }

            if (accept is not null && !accept(sha256))
            {
                return (sha256, length, false);
            }

            AtomicFile.Promote(writtenPath, finalPath);
            return (sha256, length, true);
        }
        finally
        {
            FileCleanup.TryDelete(writtenPath);
        }
    }
}
