using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Primitives;
using ModelCache.Transfer;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Registry;

/// <summary>
/// The pull side: a bundle artifact read as input from a stranger. The manifest (by tag or digest) is capped in size,
/// its media type checked and its digest verified; an image index is followed one level at most; the config blob is
/// capped and verified before <see cref="BundleManifestReader"/> reads it as a bundle manifest; each layer is held to
/// that manifest's entry. The layers themselves are fetched later by the transfer engine, as blobs of the repository.
/// </summary>
public sealed partial class OciRegistryClient
{
    /// <summary>Reads and checks the bundle artifact <paramref name="reference"/> of this client's repository.</summary>
    /// <exception cref="ModelCacheException">
    /// RegistryArtifactNotFound, OciManifestInvalid, RegistryManifestTooLarge, RegistryDigestMismatch, RegistryReadFailed,
    /// RegistryAccessDenied, RegistryUnreachable, BundleManifestInvalid (the config), BundleFormatUnsupported.
    /// </exception>
    public async Task<RegistryBundle> PullBundleAsync(OciArtifactReference reference, ModelCatalog catalog, CancellationToken cancellationToken)
    {
        var where = reference.ToString();
        var (bytes, mediaType, digest) = await GetManifestAsync(reference.ManifestReference, where, cancellationToken).ConfigureAwait(false);
        if (mediaType == OciMediaTypes.ImageIndex)
        {
            // One level only: an index may name our manifest, never another index.
            var chosen = ChooseFromIndex(bytes, where);
            (bytes, mediaType, digest) = await GetManifestAsync(chosen, where, cancellationToken).ConfigureAwait(false);
            if (mediaType == OciMediaTypes.ImageIndex)
            {
                throw Invalid(where, $"its index leads to another index ({chosen}); an index is followed one level only");
            }
        }

        var manifest = OciManifest.ParseBundle(bytes, mediaType, where);
        var config = await GetBlobAsync(manifest.Config, BundleManifestReader.MaxManifestBytes, where, "its config (the bundle manifest)", cancellationToken).ConfigureAwait(false);
        var models = BundleManifestReader.Read(config, catalog, where);
        var problems = CheckLayers(manifest, models, where);
        var newModels = models.Select(m => m.Model).Where(m => !catalog.TryGet(m.Name, out _)).ToList();
        return new RegistryBundle(where, Registry, digest, manifest.Config.Digest, models, newModels, problems);
    }

    /// <summary>
    /// Where the saver reads each model of <paramref name="bundle"/>: its layer, the blob of the model's SHA-256 in this
    /// repository, fetched as a registry mirror fetches a blob (this client's token, Range resume, caps, stall
    /// detection, verification before promotion); a model whose layer disagrees with the bundle manifest is refused.
    /// </summary>
    public IModelSource LayerSource(RegistryBundle bundle) => new RegistryLayerSource(bundle, HttpSource.Registry(_client, Registry, Auth, _timeout, null));

    /// <summary>
    /// A manifest by tag or digest: Accept names the OCI manifest and index; at most <see cref="OciManifest.MaxManifestBytes"/>
    /// are read whatever Content-Length says; the media type must be one of those two and agree with the manifest's own
    /// mediaType; the bytes must hash to the digest asked for, and to Docker-Content-Digest when the registry sends it.
    /// </summary>
    internal async Task<(byte[] Bytes, string MediaType, string Digest)> GetManifestAsync(string reference, string where, CancellationToken cancellationToken)
    {
        var subject = $"the manifest of '{where}'";
        using var response = await SendAsync(Simple(HttpMethod.Get, ManifestUri(reference), OciMediaTypes.ImageManifest, OciMediaTypes.ImageIndex), subject, cancellationToken)
            .ConfigureAwait(false);
        var status = (int)response.StatusCode;
        if (status is 404 or 410)
        {
            throw new ModelCacheException("RegistryArtifactNotFound", ModelCacheErrorKind.NotFound,
                $"The registry {Registry} has no artifact '{reference}' (HTTP {status}), so '{where}' cannot be read.",
                $"Check the tag or digest ('skopeo list-tags' lists a repository's tags), or push the bundle with 'Export-ModelCache -Registry {where}'.");
        }

        EnsureRead(response, subject);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType != OciMediaTypes.ImageManifest && mediaType != OciMediaTypes.ImageIndex)
        {
            throw Invalid(where, $"the registry sent its manifest as '{BundleManifestReader.Shorten(mediaType)}', not an OCI image manifest or index");
        }

        var bytes = await ReadCappedAsync(response, OciManifest.MaxManifestBytes, where, "its manifest", cancellationToken).ConfigureAwait(false);
        var digest = OciManifest.DigestOf(bytes);
        if (OciManifest.IsDigest(reference) && reference != digest)
        {
            throw DigestMismatch(where, $"its manifest was asked for by the digest {reference}, but the bytes sent hash to {digest}");
        }

        if (response.Headers.TryGetValues("Docker-Content-Digest", out var said) && said.FirstOrDefault()?.Trim() is { } header
            && header.StartsWith(OciManifest.DigestPrefix, StringComparison.OrdinalIgnoreCase) && !string.Equals(header, digest, StringComparison.OrdinalIgnoreCase))
        {
            throw DigestMismatch(where, $"the registry says its manifest is {BundleManifestReader.Shorten(header)}, but the bytes sent hash to {digest}");
        }

        var declared = DeclaredMediaType(bytes, where);
        if (declared is not null && declared != mediaType)
        {
            // The spec: a client rejects a manifest whose mediaType is not the Content-Type it came with.
            throw Invalid(where, $"its manifest says it is '{BundleManifestReader.Shorten(declared)}' but was sent as '{mediaType}'");
        }

        return (bytes, mediaType!, digest);
    }

    /// <summary>A blob read whole (a config): its descriptor's size must be within <paramref name="cap"/>; the bytes are capped to that size and verified before use.</summary>
    internal async Task<byte[]> GetBlobAsync(OciDescriptor blob, int cap, string where, string what, CancellationToken cancellationToken)
    {
        if (blob.Size > cap)
        {
            throw TooLarge(where, $"{what} declares {blob.Size} bytes, over the {cap}-byte limit");
        }

        var subject = $"{what} of '{where}'";
        using var response = await SendAsync(Simple(HttpMethod.Get, BlobUri(blob.Digest)), subject, cancellationToken).ConfigureAwait(false);
        EnsureRead(response, subject);
        var bytes = await ReadCappedAsync(response, (int)blob.Size, where, what, cancellationToken).ConfigureAwait(false);
        var digest = OciManifest.DigestOf(bytes);
        if (bytes.Length != blob.Size || digest != blob.Digest)
        {
            throw DigestMismatch(where, $"{what} should be {blob.Digest} with {blob.Size} bytes, but the registry sent {bytes.Length} bytes hashing to {digest}");
        }

        return bytes;
    }

    /// <summary>Each model's layer (found by its title, the file name) must be the blob of its entry's SHA-256 and size; a layer no entry names refuses the artifact.</summary>
    private static Dictionary<string, string> CheckLayers(OciManifest manifest, IReadOnlyList<(BundleModel Entry, ModelDefinition Model)> models, string where)
    {
        var listed = new HashSet<string>(models.Select(m => m.Entry.FileName), StringComparer.Ordinal);
        var byTitle = new Dictionary<string, OciDescriptor>(StringComparer.Ordinal);
        foreach (var layer in manifest.Layers)
        {
            var title = layer.Annotation(OciAnnotations.Title)!;
            if (!listed.Contains(title))
            {
                throw Invalid(where, $"its layer {layer.Digest} is '{BundleManifestReader.Shorten(title)}', which its bundle manifest does not list");
            }

            if (byTitle.ContainsKey(title))
            {
                throw Invalid(where, $"it has two layers for '{BundleManifestReader.Shorten(title)}'");
            }

            byTitle[title] = layer;
        }

        var problems = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (entry, model) in models)
        {
            if (!byTitle.TryGetValue(entry.FileName, out var layer))
            {
                problems[model.Name] = $"the artifact '{where}' has no layer for {model.Name} ('{entry.FileName}')";
            }
            else if (layer.Digest != OciManifest.DigestPrefix + model.Sha256 || layer.Size != entry.Size)
            {
                problems[model.Name] = $"the layer of {model.Name} in '{where}' is {layer.Digest} with {layer.Size} bytes, but its bundle manifest says {OciManifest.DigestPrefix}{model.Sha256} with {entry.Size} bytes";
            }
        }

        return problems;
    }

    /// <summary>The manifest an index names for us: the image manifest with our artifactType, else its only image manifest.</summary>
    private static string ChooseFromIndex(byte[] bytes, string where)
    {
        var index = ParseJson(bytes, where, "its index");
        if (index["manifests"] is not JArray manifests || manifests.Count > OciManifest.MaxLayers)
        {
            throw Invalid(where, "its index has no \"manifests\" array of a bounded length");
        }

        var candidates = new List<(string Digest, string? ArtifactType)>();
        foreach (var item in manifests)
        {
            var mediaType = (item?["mediaType"] as JValue)?.Value as string;
            var digest = (item?["digest"] as JValue)?.Value as string;
            if (item is not JObject || !OciManifest.IsDigest(digest))
            {
                throw Invalid(where, "its index lists an entry without a sha256:<64 lowercase hex> digest");
            }

            if (mediaType == OciMediaTypes.ImageManifest)
            {
                candidates.Add((digest!, (item["artifactType"] as JValue)?.Value as string));
            }
        }

        var ours = candidates.Where(c => c.ArtifactType == OciMediaTypes.BundleArtifact).ToList();
        var chosen = ours.Count > 0 ? ours : candidates;
        if (chosen.Count != 1)
        {
            throw Invalid(where, chosen.Count == 0
                ? "its index lists no image manifest"
                : $"its index lists {chosen.Count} image manifests and not exactly one has the artifactType {OciMediaTypes.BundleArtifact}; name the bundle by its manifest's digest (oci://…@sha256:…)");
        }

        return chosen[0].Digest;
    }

    private static string? DeclaredMediaType(byte[] bytes, string where) =>
        ParseJson(bytes, where, "its manifest")["mediaType"] is JValue { Type: JTokenType.String, Value: string declared } ? declared : null;

    private static JObject ParseJson(byte[] bytes, string where, string what)
    {
        var text = Encoding.UTF8.GetString(bytes);
        if (JsonDuplicateKeys.Find(text, StringComparer.Ordinal) is { } duplicate)
        {
            throw Invalid(where, $"{what} writes the key \"{BundleManifestReader.Shorten(duplicate.Name)}\" twice in one object");
        }

        try
        {
            using var reader = new JsonTextReader(new StringReader(text)) { MaxDepth = 16, DateParseHandling = DateParseHandling.None };
            return JObject.Load(reader);
        }
        catch (JsonException ex)
        {
            throw Invalid(where, $"{what} is not a JSON object: {BundleManifestReader.Shorten(ex.Message)}");
        }
    }

    private void EnsureRead(HttpResponseMessage response, string subject)
    {
        var status = (int)response.StatusCode;
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var message = $"The registry {Registry} answered HTTP {status} {response.ReasonPhrase} for {subject}.";
        throw status is 408 or 429 or >= 500
            ? TransferException.Transient("RegistryReadFailed", message, "Try again later; the registry is failing.")
            : TransferException.Permanent("RegistryReadFailed", status is 404 or 410 ? ModelCacheErrorKind.NotFound : ModelCacheErrorKind.InvalidData, message,
                "Check the reference; push the bundle again with 'Export-ModelCache -Registry' if its blobs are gone.");
    }

    /// <summary>
    /// At most <paramref name="cap"/> bytes, whatever Content-Length says: one byte more fails, and every read has the
    /// stall timeout, so an endless or dripping body ends.
    /// </summary>
    private async Task<byte[]> ReadCappedAsync(HttpResponseMessage response, int cap, string where, string what, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength is { } announced && announced > cap)
        {
            throw TooLarge(where, $"{what} is announced with {announced} bytes, over the {cap}-byte limit");
        }

        using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        while (true)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stall.CancelAfter(_timeout);
            int read;
            try
            {
                read = await stream.ReadAsync(chunk, 0, (int)Math.Min(chunk.Length, cap + 1L - buffer.Length), stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw TransferException.Transient("RegistryUnreachable",
                    $"The registry {Registry} sent nothing of {what} of '{where}' for {_timeout.TotalSeconds:0} s.", "Try again later, or raise -TimeoutSec.", inner: ex);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw TransferException.Transient("RegistryUnreachable",
                    $"The registry {Registry} broke off {what} of '{where}': {ex.GetBaseException().Message}", "Try again later.", inner: ex);
            }

            if (read == 0)
            {
                return buffer.ToArray();
            }

            buffer.Write(chunk, 0, read);
            if (buffer.Length > cap)
            {
                throw TooLarge(where, $"{what} is longer than the {cap}-byte limit");
            }
        }
    }

    /// <summary>The same id and wording as <see cref="OciManifest.Parse"/>'s refusals: the artifact is not a usable bundle.</summary>
    private static ModelCacheException Invalid(string where, string why) => new("OciManifestInvalid", ModelCacheErrorKind.InvalidData,
        $"The registry artifact '{where}' cannot be used: {why}. Nothing was imported from it.",
        "Check the reference (repository, tag or digest); push the bundle again with 'Export-ModelCache -Registry', or ask the registry's administrator what the artifact is.");

    private static ModelCacheException TooLarge(string where, string why) => new("RegistryManifestTooLarge", ModelCacheErrorKind.InvalidData,
        $"The registry artifact '{where}' cannot be used: {why}. Nothing was imported from it.",
        "Check that the reference names a bundle pushed by 'Export-ModelCache -Registry' (its manifest and config are small), or ask the registry's administrator what the artifact is.");

    private static ModelCacheException DigestMismatch(string where, string why) => new("RegistryDigestMismatch", ModelCacheErrorKind.InvalidData,
        $"The registry artifact '{where}' cannot be used: {why}. Nothing was imported from it.",
        "The registry, or something between it and here, changed the content: ask the registry's administrator to check it, or push the bundle again with 'Export-ModelCache -Registry'.");
}
