using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ICSharpCode.SharpZipLib.Zip;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Store;
using ModelCache.Transfer;
using Newtonsoft.Json;

namespace ModelCache.Bundles;

/// <summary>What an export wrote.</summary>
public sealed class BundleExportResult
{
    public BundleExportResult(string path, string manifestSha256, IReadOnlyList<string> models, long bytes, TimeSpan elapsed)
    {
        Path = path;
        ManifestSha256 = manifestSha256;
        Models = models;
        Bytes = bytes;
        Elapsed = elapsed;
    }

    public string Path { get; }

    /// <summary>SHA-256 of manifest.json, to be checked out of band before an import.</summary>
    public string ManifestSha256 { get; }

    public IReadOnlyList<string> Models { get; }

    public long Bytes { get; }

    public TimeSpan Elapsed { get; }
}

/// <summary>
/// Writes cached models into a bundle: a ZIP with entries stored, not compressed (ONNX does not compress, and
/// time matters), or a folder; each file at the root under its catalog file name, and <c>manifest.json</c>. Every
/// file is hashed as it is copied and left out, with an error, when it does not match the catalog. Nothing is
/// under the final name until the bundle is complete.
/// </summary>
public static class BundleExporter
{
    private static readonly JsonSerializerSettings JsonSettings = new() { Formatting = Formatting.Indented };

    /// <param name="models">The cached files and their catalog models.</param>
    /// <param name="destination">A <c>.zip</c> file, or a folder (new or empty).</param>
    /// <param name="tool">Written into the manifest, e.g. "ModelCache 0.4.0".</param>
    /// <param name="progress">Bytes copied, per model.</param>
    /// <param name="onFailed">Called for each model left out (not cached, corrupt, unreadable).</param>
    /// <param name="asMirror">Write a static mirror instead: a folder of the files with <c>index.json</c> (the manifest's schema) in place of manifest.json.</param>
    public static async Task<BundleExportResult> ExportAsync(IReadOnlyList<(string File, ModelDefinition Model)> models, string destination, string tool,
        IProgress<TransferProgress>? progress, Action<ModelDefinition, ModelCacheException> onFailed, CancellationToken cancellationToken, bool asMirror = false)
    {
        var clock = Stopwatch.StartNew();
        var full = Path.GetFullPath(destination);
        var zip = !asMirror && full.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
        if (File.Exists(full) || (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).GetEnumerator().MoveNext()))
        {
            throw new ModelCacheException("BundleDestinationExists", ModelCacheErrorKind.InvalidArgument,
                $"'{full}' already exists; a bundle is never written over anything.", "Choose a new file name or an empty folder.");
        }

        var manifest = new BundleManifest { Tool = tool, CreatedAt = DateTimeOffset.UtcNow };
        long bytes = 0;
        var staging = zip ? full + CacheFiles.PartialSuffix : full;
        var createdFolder = !zip && !Directory.Exists(full);
        var written = new List<string>();
        var completed = false;
        try
        {
            if (zip)
            {
                using var file = new FileStream(staging, FileMode.Create, FileAccess.ReadWrite, FileShare.None, Sha256Hasher.BufferSize);
                using var output = new ZipOutputStream(file) { IsStreamOwner = false };
                output.SetLevel(0);
                foreach (var (source, model) in models)
                {
                    if (await TryCopyAsync(source, model, size => NewEntry(output, model.FileName, size), output, progress, onFailed, cancellationToken).ConfigureAwait(false) is { } exported)
                    {
                        manifest.Models.Add(exported);
                        bytes += exported.Size;
                        output.CloseEntry();
                    }
                }

                var manifestBytes = ManifestBytes(manifest);
                NewEntry(output, BundleManifest.FileName, manifestBytes.Length);
                output.Write(manifestBytes, 0, manifestBytes.Length);
                output.CloseEntry();
                output.Finish();
                file.Flush(true);
                file.Dispose();
                AtomicFile.Promote(staging, full);
                return new BundleExportResult(full, Sha256Hasher.HashBytes(manifestBytes), manifest.Models.ConvertAll(m => m.Name), bytes, clock.Elapsed);
            }

            Directory.CreateDirectory(full);
            foreach (var (file, model) in models)
            {
                var target = Path.Combine(full, model.FileName);
                var partial = target + CacheFiles.PartialSuffix;
                BundleModel? exported;
                written.Add(partial);
                written.Add(target);
                using (var output = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, Sha256Hasher.BufferSize, FileOptions.Asynchronous))
                {
                    exported = await TryCopyAsync(file, model, _ => { }, output, progress, onFailed, cancellationToken).ConfigureAwait(false);
                    output.Flush(true);
                }

                if (exported is null)
                {
                    File.Delete(partial);
                    continue;
                }

                AtomicFile.Promote(partial, target);
                manifest.Models.Add(exported);
                bytes += exported.Size;
            }

            var folderManifest = ManifestBytes(manifest);
            AtomicFile.WriteAllText(Path.Combine(full, asMirror ? BundleManifest.MirrorIndexFileName : BundleManifest.FileName), Encoding.UTF8.GetString(folderManifest));
            completed = true;
            return new BundleExportResult(full, Sha256Hasher.HashBytes(folderManifest), manifest.Models.ConvertAll(m => m.Name), bytes, clock.Elapsed);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("BundleWriteFailed", ModelCacheErrorKind.WriteError, $"Cannot write the bundle '{full}': {ex.Message}",
                "Check free space and permissions at the destination.", ex);
        }
        finally
        {
            if (zip && File.Exists(staging))
            {
                File.Delete(staging);
            }

            if (!zip && !completed)
            {
                // A folder export that stopped (a corrupt model, Ctrl+C) leaves nothing of its own behind.
                written.ForEach(path => FileCleanup.TryDelete(path));
                if (createdFolder && Directory.Exists(full) && !Directory.EnumerateFileSystemEntries(full).GetEnumerator().MoveNext())
                {
                    Directory.Delete(full);
                }
            }
        }
    }

    private static byte[] ManifestBytes(BundleManifest manifest) => new UTF8Encoding(false).GetBytes(JsonConvert.SerializeObject(manifest, JsonSettings));

    private static void NewEntry(ZipOutputStream output, string name, long size) =>
        output.PutNextEntry(new ZipEntry(name) { CompressionMethod = CompressionMethod.Stored, Size = size, DateTime = DateTime.UtcNow });

    /// <returns>The manifest entry, or null when the model was left out (and reported).</returns>
    private static async Task<BundleModel?> TryCopyAsync(string file, ModelDefinition model, Action<long> begin, Stream output,
        IProgress<TransferProgress>? progress, Action<ModelDefinition, ModelCacheException> onFailed, CancellationToken cancellationToken)
    {
        FileStream input;
        try
        {
            input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            onFailed(model, new ModelCacheException("ModelFileMissing", ModelCacheErrorKind.NotFound, $"{model.Name}: '{file}' cannot be read: {ex.Message}",
                $"Run 'Save-Model {model.Name}' first.", ex));
            return null;
        }

        using (input)
        {
            var size = input.Length;
            begin(size);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

            // Two buffers, so the SHA-256 of one chunk runs on a second core while the ZIP's CRC-32 and the write
            // take the same chunk: one after the other on one thread, they made the export slower than zip -0.
            var buffers = new[] { new byte[Sha256Hasher.BufferSize], new byte[Sha256Hasher.BufferSize] };
            var hashing = Task.CompletedTask;
            long done = 0;
            int read, current = 0;
            try
            {
                while ((read = await input.ReadAsync(buffers[current], 0, Sha256Hasher.BufferSize, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await hashing.ConfigureAwait(false);
                    var chunk = buffers[current];
                    var length = read;
                    hashing = Task.Run(() => hash.AppendData(chunk, 0, length), cancellationToken);
                    await output.WriteAsync(chunk, 0, length, cancellationToken).ConfigureAwait(false);
                    done += read;
                    current ^= 1;
                    progress?.Report(new TransferProgress(model.Name, TransferPhase.Downloading, done, size, file));
                }
            }
            finally
            {
                // The hash must not be disposed under a chunk still being hashed, whatever stopped the loop.
                await hashing.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }

            await hashing.ConfigureAwait(false);

            var actual = Sha256Hasher.ToHex(hash.GetHashAndReset());
            if (!string.Equals(actual, model.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                // The zip entry already holds the bytes; a corrupt model must not travel, so the export fails rather than ship it.
                throw new ModelCacheException("HashMismatch", ModelCacheErrorKind.InvalidData,
                    $"{model.Name}: '{file}' hashes to {actual}, expected {model.Sha256}; the bundle was not written.",
                    $"Run 'Save-Model {model.Name} -Force' to repair it, or leave it out with -Name.");
            }

            progress?.Report(new TransferProgress(model.Name, TransferPhase.Completed, done, size, file));
            return BundleModel.From(model, done, actual, includeCatalogEntry: !model.IsBuiltIn);
        }
    }
}
