using System;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Transfer;

namespace ModelCache.HuggingFace;

/// <summary>
/// The upstream source of a catalog model whose entry names a hub file (<c>"huggingFace"</c>): resolved
/// through HF_ENDPOINT, with HF_TOKEN sent to the endpoint's host only. The hub's X-Linked-Etag must
/// agree with the catalog SHA-256 before a byte is read; the saver then verifies the bytes as for any source.
/// </summary>
public sealed class HubSource : IModelSource
{
    private readonly HubClient _client;
    private readonly HubSettings _settings;

    internal HubSource(HttpClient client, HubSettings settings, TimeSpan timeout)
    {
        _settings = settings;
        _client = new HubClient(client, settings, timeout);
    }

    /// <summary>
    /// What a <see cref="SourcePlanner"/> is given to reach hub-hosted models: HF_ENDPOINT, HF_TOKEN and offline mode
    /// are read from <paramref name="environment"/> (the process environment when null) when the first hub model is planned.
    /// </summary>
    public static Func<HttpClient, TimeSpan, IModelSource> Factory(IEnvironment? environment = null)
    {
        var settings = new Lazy<HubSettings>(() => HubSettings.FromEnvironment(environment ?? SystemEnvironment.Instance));
        return (client, timeout) => new HubSource(client, settings.Value, timeout);
    }

    public TransferSource Kind => TransferSource.Upstream;

    public bool IsNetwork => true;

    public string Locate(ModelDefinition model) => HubClient.Redact(Reference(model).ResolveUri(_settings.Endpoint));

    public async Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken)
    {
        var file = Reference(model);
        if (_settings.Offline)
        {
            // Refused here rather than dropped from the plan, so the message names the variable that did it.
            throw TransferException.Permanent("ModelNotAvailableOffline", ModelCacheErrorKind.ResourceUnavailable,
                $"{model.Name} is not in the cache and comes from the Hugging Face hub ({file}), but HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) forbids connecting to it.",
                $"Unset HF_HUB_OFFLINE to download it, or point -Mirror or $env:MODELCACHE_MIRROR at a directory holding '{model.FileName}'.");
        }

        var metadata = await _client.GetMetadataAsync(file.Repo, file.Revision, file.File, cancellationToken).ConfigureAwait(false);
        if (metadata.IsLfs && !string.Equals(metadata.BlobId, model.Sha256, StringComparison.Ordinal))
        {
            throw TransferException.BadContent("HubHashDisagrees",
                $"The hub says {file} (for {model.Name}) has SHA-256 {metadata.BlobId}, but the catalog expects {model.Sha256}. Nothing was saved.",
                "The file changed on the hub: pin \"revision\" in the catalog entry to the commit that holds the expected file, or update the entry's \"sha256\".");
        }

        // The blob id names the content, so bytes kept from the same blob can be resumed safely.
        var validator = HubClient.BlobValidator(metadata.BlobId);
        var offset = resume is not null && resume.Validator == validator ? resume.Offset : 0;
        return await _client.OpenBlobAsync(_client.ResolveUri(file.Repo, metadata.Commit, file.File), metadata.Size, validator, offset, null,
            $"{file} (for {model.Name})", cancellationToken).ConfigureAwait(false);
    }

    private static HubFileReference Reference(ModelDefinition model) =>
        model.HuggingFace ?? throw new InvalidOperationException($"{model.Name} has no Hugging Face source; HubSource is planned only for models that do.");
}
