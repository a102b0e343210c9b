using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Transfer;

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
/// Writes cached models into a bundle (<see cref="BundleWriter"/>): each file at the root under its catalog file
/// name, and <c>manifest.json</c>. Every file is hashed as it is copied, and a file that does not match the catalog
/// stops the export.
/// </summary>
public static class BundleExporter
{
    /// <param name="models">The cached files and their catalog models.</param>
    /// <param name="destination">A <c>.zip</c> file, or a folder (new or empty).</param>
    /// <param name="tool">Written into the manifest, e.g. "ModelCache 0.4.0".</param>
    /// <param name="progress">Bytes copied, per model.</param>
    /// <param name="onFailed">Called for each model left out (not cached, unreadable).</param>
    /// <param name="asMirror">Write a static mirror instead: a folder of the files with <c>index.json</c> (the manifest's schema) in place of manifest.json.</param>
    public static Task<BundleExportResult> ExportAsync(IReadOnlyList<(string File, ModelDefinition Model)> models, string destination, string tool,
        IProgress<TransferProgress>? progress, Action<ModelDefinition, ModelCacheException> onFailed, CancellationToken cancellationToken, bool asMirror = false) =>
        BundleWriter.RunAsync(destination, asMirror, async writer =>
        {
            var manifest = new BundleManifest { Tool = tool, CreatedAt = DateTimeOffset.UtcNow };
            long bytes = 0;
            foreach (var (file, model) in models)
            {
                if (await TryCopyAsync(writer, file, model, progress, onFailed, cancellationToken).ConfigureAwait(false) is { } exported)
                {
                    manifest.Models.Add(exported);
                    bytes += exported.Size;
                }
            }

            return writer.Complete(manifest, bytes);
        });

    /// <returns>The manifest entry, or null when the model was left out (and reported).</returns>
    private static async Task<BundleModel?> TryCopyAsync(BundleWriter writer, string file, ModelDefinition model,
        IProgress<TransferProgress>? progress, Action<ModelDefinition, ModelCacheException> onFailed, CancellationToken cancellationToken)
    {
        FileStream input;
        try
        {
            input = RegularFile.Open(file, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (NotARegularFileException ex)
        {
            onFailed(model, CacheIOFailure.NotARegularFile(ex, model.Name));
            return null;
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
            var (done, actual, _) = await writer.AddAsync(model.FileName, size, null, (output, hashes) => HashingCopier.CopyAsync(input, output, hashes, 0, null,
                copied => progress?.Report(new TransferProgress(model.Name, TransferPhase.Downloading, copied, size, file)), file, cancellationToken), cancellationToken).ConfigureAwait(false);
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
