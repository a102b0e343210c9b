using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Transfer;

namespace ModelCache.Registry;

/// <summary>What a push to a registry did.</summary>
public sealed class RegistryPushResult
{
    public RegistryPushResult(OciArtifactReference reference, string digest, IReadOnlyList<string> models, int layers,
        int blobsUploaded, long bytesUploaded, int blobsSkipped, long bytesSkipped, bool tagUpdated, TimeSpan elapsed)
    {
        Reference = reference.ToString();
        Digest = digest;
        PinnedReference = reference.WithDigest(digest).ToString();
        Models = models;
        Layers = layers;
        BlobsUploaded = blobsUploaded;
        BytesUploaded = bytesUploaded;
        BlobsSkipped = blobsSkipped;
        BytesSkipped = bytesSkipped;
        TagUpdated = tagUpdated;
        Elapsed = elapsed;
    }

    /// <summary>oci://host/repository:tag, as pushed.</summary>
    public string Reference { get; }

    /// <summary>The manifest's digest, sha256:&lt;hex&gt;.</summary>
    public string Digest { get; }

    /// <summary>oci://host/repository@sha256:…: the artifact whatever the tag later names.</summary>
    public string PinnedReference { get; }

    public IReadOnlyList<string> Models { get; }

    /// <summary>Model files in the artifact, one layer each.</summary>
    public int Layers { get; }

    /// <summary>Blobs sent (model files and the bundle manifest) because the registry lacked them.</summary>
    public int BlobsUploaded { get; }

    public long BytesUploaded { get; }

    /// <summary>Blobs the registry already held, not sent again.</summary>
    public int BlobsSkipped { get; }

    public long BytesSkipped { get; }

    /// <summary>False when the tag already named this very manifest.</summary>
    public bool TagUpdated { get; }

    public TimeSpan Elapsed { get; }
}

/// <summary>
/// Pushes cached models to a registry as one bundle artifact: an OCI image manifest whose config blob is the bundle
/// manifest (<see cref="BundleManifest"/>, the manifest.json schema, carried catalog entries included) and whose layers
/// are the model files, each the blob sha256:&lt;catalog hash&gt;. A blob the registry holds is not sent again (HEAD
/// first), and the manifest's bytes are canonical (no timestamp), so pushing the same bundle twice uploads nothing.
/// Cross-repository mount is not tried: nothing here knows which other repository of the registry holds a blob,
/// and guessing would cost a request per blob per guess.
/// </summary>
public static class BundlePusher
{
    /// <summary>The bundle manifest's createdAt in an artifact: fixed, as reproducible builds do, so its digest depends on the models alone.</summary>
    public static readonly DateTimeOffset ReproducibleTime = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <param name="models">Each cached file with the cache root it lies in and its catalog model.</param>
    /// <param name="onFailed">Called for each model left out (unreadable, outside its root, wrong size).</param>
    public static async Task<RegistryPushResult> PushAsync(OciRegistryClient client, OciArtifactReference target,
        IReadOnlyList<(string File, string Root, ModelDefinition Model)> models, string tool, IProgress<TransferProgress>? progress,
        Action<ModelDefinition, ModelCacheException> onFailed, CancellationToken cancellationToken, Func<ModelDefinition, string?>? mountFrom = null)
    {
        if (target.Tag is null)
        {
            throw new ModelCacheException("InvalidArtifactReference", ModelCacheErrorKind.InvalidArgument,
                $"'{target}' names a digest; a push writes a tag.",
                "Name the tag to push to, such as oci://registry.example.com/models:v1; the digest is printed after the push.");
        }

        var clock = Stopwatch.StartNew();
        var items = new List<Item>();
        foreach (var (file, root, model) in models)
        {
            if (Measure(file, root, model, onFailed) is { } size)
            {
                items.Add(new Item(file, model, OciDescriptor.ForSha256(OciMediaTypes.ModelFile, model.Sha256, size, new Dictionary<string, string>
                {
                    [OciAnnotations.Title] = model.FileName,
                    [OciAnnotations.ModelName] = model.Name,
                })));
            }
        }

        if (items.Count == 0)
        {
            throw new ModelCacheException("ModelFileMissing", ModelCacheErrorKind.NotFound,
                $"None of the selected models could be read; nothing was pushed to {target}.", "Run 'Save-Model' for them first, or select other models with -Name.");
        }

        var bundle = new BundleManifest { Tool = tool, CreatedAt = ReproducibleTime };
        bundle.Models.AddRange(items.Select(i => BundleModel.From(i.Model, i.Layer.Size, i.Model.Sha256, includeCatalogEntry: !i.Model.IsBuiltIn)));
        var config = bundle.ToBytes();
        var configDescriptor = OciDescriptor.ForBytes(OciMediaTypes.BundleConfig, config);
        var manifest = new OciManifest(configDescriptor, items.Select(i => i.Layer).ToList(), OciMediaTypes.BundleArtifact).ToBytes();
        var digest = OciManifest.DigestOf(manifest);
        var shown = target.ToString();

        var counts = new Counts();
        var tagged = await client.ManifestDigestAsync(target.Tag, "the tag of " + shown, cancellationToken).ConfigureAwait(false) == digest;
        foreach (var item in items)
        {
            await EnsureAsync(client, item, check: true, counts, progress, cancellationToken, mountFrom?.Invoke(item.Model)).ConfigureAwait(false);
        }

        await EnsureConfigAsync(client, configDescriptor, config, shown, check: true, counts, cancellationToken).ConfigureAwait(false);
        if (!tagged && !await client.PutManifestAsync(manifest, target.Tag, "the manifest of " + shown, cancellationToken).ConfigureAwait(false))
        {
            // The registry said it had a blob that it does not: send every blob it claimed, without asking again.
            foreach (var item in items.Where(i => !counts.Sent.Contains(i.Layer.Digest)))
            {
                await EnsureAsync(client, item, check: false, counts, progress, cancellationToken).ConfigureAwait(false);
            }

            if (!counts.Sent.Contains(configDescriptor.Digest))
            {
                await EnsureConfigAsync(client, configDescriptor, config, shown, check: false, counts, cancellationToken).ConfigureAwait(false);
            }
            if (!await client.PutManifestAsync(manifest, target.Tag, "the manifest of " + shown, cancellationToken).ConfigureAwait(false))
            {
                throw client.Protocol("the manifest of " + shown, "still reports a blob of the bundle unknown (MANIFEST_BLOB_UNKNOWN) after every blob was uploaded");
            }
        }

        return new RegistryPushResult(target, digest, items.Select(i => i.Model.Name).ToList(), items.Count,
            counts.Uploaded, counts.UploadedBytes, counts.Skipped, counts.SkippedBytes, !tagged, clock.Elapsed);
    }

    /// <summary>
    /// The repository of the same registry a model was saved from (its source oci://host[:port]/repo@sha256:…), when it is
    /// another repository than the target: the one place known to hold its blob, so a cross-repository mount can be asked.
    /// </summary>
    public static string? MountSource(string? sourceUrl, OciArtifactReference target)
    {
        var at = sourceUrl?.IndexOf('@') ?? -1;
        if (sourceUrl is null || at < 0 || !OciReference.IsRegistry(sourceUrl))
        {
            return null;
        }

        try
        {
            var source = OciReference.Parse(sourceUrl.Substring(0, at));
            return string.Equals(source.Host, target.Registry.Host, StringComparison.OrdinalIgnoreCase) && source.Port == target.Registry.Port
                   && source.Repository != target.Registry.Repository ? source.Repository : null;
        }
        catch (ModelCacheException)
        {
            return null; // a source recorded in another form: nothing to mount from
        }
    }

    /// <summary>The file's size when it may be pushed: a regular file inside its cache root, of the catalog's size; else reported and null.</summary>
    private static long? Measure(string file, string root, ModelDefinition model, Action<ModelDefinition, ModelCacheException> onFailed)
    {
        try
        {
            new RootGuard(root).EnsureContained(file);
            using var stream = RegularFile.Open(file, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (model.Size is { } expected && stream.Length != expected)
            {
                onFailed(model, new ModelCacheException("HashMismatch", ModelCacheErrorKind.InvalidData,
                    $"{model.Name}: '{file}' has {stream.Length} bytes, the catalog says {expected}; it was not pushed.",
                    $"Run 'Save-Model {model.Name} -Force' to repair it, or leave it out with -Name."));
                return null;
            }

            return stream.Length;
        }
        catch (ModelCacheException ex)
        {
            onFailed(model, ex);
        }
        catch (NotARegularFileException ex)
        {
            onFailed(model, CacheIOFailure.NotARegularFile(ex, model.Name));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            onFailed(model, new ModelCacheException("ModelFileMissing", ModelCacheErrorKind.NotFound, $"{model.Name}: '{file}' cannot be read: {ex.Message}",
                $"Run 'Save-Model {model.Name}' first.", ex));
        }

        return null;
    }

    private static async Task EnsureAsync(OciRegistryClient client, Item item, bool check, Counts counts, IProgress<TransferProgress>? progress, CancellationToken cancellationToken,
        string? mountFrom = null)
    {
        var name = item.Model.Name;
        var size = item.Layer.Size;
        if (check && (await client.HasBlobAsync(item.Layer, name, cancellationToken).ConfigureAwait(false)
                      || (mountFrom is not null && await client.TryMountBlobAsync(item.Layer, mountFrom, name, cancellationToken).ConfigureAwait(false))))
        {
            // Held already, or mounted from the repository it was saved from: no byte of it travels.
            counts.Skip(item.Layer);
            progress?.Report(new TransferProgress(name, TransferPhase.Completed, size, size, client.Registry.ToString()));
            return;
        }

        using (var stream = RegularFile.Open(item.File, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            await client.UploadBlobAsync(item.Layer, stream, name,
                sent => progress?.Report(new TransferProgress(name, TransferPhase.Downloading, sent, size, client.Registry.ToString())), cancellationToken).ConfigureAwait(false);
        }

        counts.Upload(item.Layer);
        progress?.Report(new TransferProgress(name, TransferPhase.Completed, size, size, client.Registry.ToString()));
    }

    private static async Task EnsureConfigAsync(OciRegistryClient client, OciDescriptor descriptor, byte[] config, string shown, bool check, Counts counts, CancellationToken cancellationToken)
    {
        var subject = "the bundle manifest of " + shown;
        if (check && await client.HasBlobAsync(descriptor, subject, cancellationToken).ConfigureAwait(false))
        {
            counts.Skip(descriptor);
            return;
        }

        using var stream = new MemoryStream(config, writable: false);
        await client.UploadBlobAsync(descriptor, stream, subject, null, cancellationToken).ConfigureAwait(false);
        counts.Upload(descriptor);
    }

    private sealed class Item
    {
        public Item(string file, ModelDefinition model, OciDescriptor layer)
        {
            File = file;
            Model = model;
            Layer = layer;
        }

        public string File { get; }

        public ModelDefinition Model { get; }

        public OciDescriptor Layer { get; }
    }

    private sealed class Counts
    {
        private readonly Dictionary<string, long> _skipped = new(StringComparer.Ordinal);

        public HashSet<string> Sent { get; } = new(StringComparer.Ordinal);

        public int Uploaded { get; private set; }

        public long UploadedBytes { get; private set; }

        public int Skipped { get; private set; }

        public long SkippedBytes { get; private set; }

        public void Upload(OciDescriptor blob)
        {
            // A blob the registry claimed and then did not have counts as uploaded, not as skipped.
            if (_skipped.TryGetValue(blob.Digest, out var claimed) && claimed > 0)
            {
                _skipped[blob.Digest] = claimed - 1;
                Skipped--;
                SkippedBytes -= blob.Size;
            }

            Sent.Add(blob.Digest);
            Uploaded++;
            UploadedBytes += blob.Size;
        }

        public void Skip(OciDescriptor blob)
        {
            _skipped[blob.Digest] = (_skipped.TryGetValue(blob.Digest, out var claimed) ? claimed : 0) + 1;
            Skipped++;
            SkippedBytes += blob.Size;
        }
    }
}
