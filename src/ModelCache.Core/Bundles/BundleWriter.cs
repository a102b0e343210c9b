using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using ICSharpCode.SharpZipLib.Zip;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Store;

namespace ModelCache.Bundles;

/// <summary>
/// The destination of one export: a ZIP of stored entries (ONNX does not compress, and time matters) written under
/// a temporary name, or a folder of files each staged as <c>.partial</c> first (<see cref="StagedFile"/>); the manifest goes in last. Nothing
/// is under the final name until <see cref="Complete"/>, and an export that stops leaves nothing of its own behind.
/// </summary>
internal sealed class BundleWriter : IDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _full;
    private readonly bool _asMirror;
    private readonly string _staging;
    private readonly List<string> _createdFolders = new();
    private readonly List<string> _written = new();
    private readonly FileStream? _file;
    private readonly ZipOutputStream? _zip;
    private bool _completed;

    private BundleWriter(string full, bool asMirror)
    {
        _full = full;
        _asMirror = asMirror;
        var zip = !asMirror && full.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
        _staging = zip ? CacheFiles.PartialPathFor(full) : full;
        // A missing folder on the way is created (and removed again if the export stops), for a .zip as for a folder bundle.
        for (var folder = zip ? Path.GetDirectoryName(full) : full; !string.IsNullOrEmpty(folder) && !Directory.Exists(folder); folder = Path.GetDirectoryName(folder))
        {
            _createdFolders.Add(folder!);
        }

        Directory.CreateDirectory(zip ? Path.GetDirectoryName(full)! : full);
        if (zip)
        {
            _file = RegularFile.Open(_staging, FileMode.Create, FileAccess.ReadWrite, FileShare.None, Sha256Hasher.BufferSize);
            _zip = new ZipOutputStream(_file) { IsStreamOwner = false };
            _zip.SetLevel(0);
            return;
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> against a new bundle at <paramref name="destination"/> (a <c>.zip</c> file, or a
    /// new or empty folder; a static mirror folder with <paramref name="asMirror"/>), mapping I/O failures to BundleWriteFailed.
    /// </summary>
    public static async Task<BundleExportResult> RunAsync(string destination, bool asMirror, Func<BundleWriter, Task<BundleExportResult>> write)
    {
        var full = Path.GetFullPath(destination);
        if (File.Exists(full) || (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).GetEnumerator().MoveNext()))
        {
            throw new ModelCacheException("BundleDestinationExists", ModelCacheErrorKind.InvalidArgument,
                $"'{full}' already exists; a bundle is never written over anything.", "Choose a new file name or an empty folder.");
        }

        try
        {
            using var writer = new BundleWriter(full, asMirror);
            return await write(writer).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("BundleWriteFailed", ModelCacheErrorKind.WriteError, $"Cannot write the bundle '{full}': {ex.Message}",
                "Check free space and permissions at the destination.", ex);
        }
    }

    /// <summary>
    /// Adds the file <paramref name="fileName"/> of <paramref name="size"/> bytes, written by <paramref name="copy"/>, which
    /// feeds every byte it writes to the hashes it is given (SHA-256, then <paramref name="extraHash"/> if any); in a folder
    /// bundle the file is staged, flushed and promoted like every file the cache writes. An exception from
    /// <paramref name="copy"/> stops the export (the entry's bytes are already in the archive).
    /// </summary>
    /// <returns>The bytes copied and the hashes of what was written.</returns>
    public async Task<(long Copied, string Sha256, string? ExtraHash)> AddAsync(string fileName, long size, IncrementalHash? extraHash,
        Func<Stream, IReadOnlyList<IncrementalHash>, Task<long>> copy, CancellationToken cancellationToken)
    {
        if (_zip is not null)
        {
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (extraHash)
            {
                PutEntry(fileName, size);
                var added = await copy(_zip, extraHash is null ? new[] { sha256 } : new[] { sha256, extraHash }).ConfigureAwait(false);
                _zip.CloseEntry();
                return (added, Sha256Hasher.ToHex(sha256.GetHashAndReset()), extraHash is null ? null : Sha256Hasher.ToHex(extraHash.GetHashAndReset()));
            }
        }

        var target = Path.Combine(_full, fileName);
        var partial = CacheFiles.PartialPathFor(target);
        _written.Add(partial);
        _written.Add(target);
        using var staged = await StagedFile.OpenAsync(target, partial, 0, extraHash, FileShare.None, cancellationToken).ConfigureAwait(false);
        var copied = await copy(staged.Stream, staged.Hashes).ConfigureAwait(false);
        await staged.CompleteAsync(cancellationToken).ConfigureAwait(false);
        staged.Promote();
        return (copied, staged.Sha256!, staged.ExtraHash);
    }

    /// <summary>Writes the manifest last and gives the bundle its final name.</summary>
    public BundleExportResult Complete(BundleManifest manifest, long bytes)
    {
        var manifestBytes = manifest.ToBytes();
        if (_zip is not null)
        {
            PutEntry(BundleManifest.FileName, manifestBytes.Length);
            _zip.Write(manifestBytes, 0, manifestBytes.Length);
            _zip.CloseEntry();
            _zip.Finish();
            _file!.Flush(true);
            _zip.Dispose();
            _file.Dispose();
            AtomicFile.Promote(_staging, _full);
        }
        else
        {
            AtomicFile.WriteAllText(Path.Combine(_full, _asMirror ? BundleManifest.MirrorIndexFileName : BundleManifest.FileName), Encoding.UTF8.GetString(manifestBytes));
        }

        _completed = true;
        return new BundleExportResult(_full, Sha256Hasher.HashBytes(manifestBytes), manifest.Models.ConvertAll(m => m.Name), bytes, _clock.Elapsed);
    }

    public void Dispose()
    {
        _zip?.Dispose();
        _file?.Dispose();
        if (_zip is not null && File.Exists(_staging))
        {
            File.Delete(_staging);
        }

        if (!_completed)
        {
            // An export that stopped (a corrupt model, Ctrl+C) leaves nothing of its own behind, folders it created included.
            _written.ForEach(path => FileCleanup.TryDelete(path));
            foreach (var folder in _createdFolders)
            {
                if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).GetEnumerator().MoveNext())
                {
                    Directory.Delete(folder);
                }
            }
        }
    }

    private void PutEntry(string name, long size) =>
        _zip!.PutNextEntry(new ZipEntry(name) { CompressionMethod = CompressionMethod.Stored, Size = size, DateTime = DateTime.UtcNow });
}
