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
    private const string ValidatorPrefix = "hub-blob:";
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
        var validator = ValidatorPrefix + metadata.BlobId;
        var offset = resume is not null && resume.Validator == validator ? resume.Offset : 0;
        var content = await OpenAsync(model, file, metadata.Commit, metadata.Size, validator, offset, null, cancellationToken).ConfigureAwait(false);
        if (content.OpenRange is not null)
        {
            var commit = metadata.Commit;
            var size = metadata.Size;
            content.OpenRange = (from, to, _, token) => OpenAsync(model, file, commit, size, validator, from, to, token);
        }

        return content;
    }

    /// <summary>Pinned to the commit, so every segment of a segmented download reads the same blob.</summary>
    private async Task<SourceContent> OpenAsync(ModelDefinition model, HubFileReference file, string commit, long size, string validator, long offset, long? end,
        CancellationToken cancellationToken)
    {
        var (response, answered) = await _client.GetAsync(_client.ResolveUri(file.Repo, commit, file.File), offset, $"{file} (for {model.Name})", cancellationToken, end).ConfigureAwait(false);
        try
        {
            if (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From != offset)
            {
                throw TransferException.Transient("UnexpectedContentRange",
                    $"{HubClient.Redact(answered)} answered a resume of {model.Name} with an unexpected range ({response.Content.Headers.ContentRange}); starting again.", "None needed.", keepPartial: false);
            }

            var start = response.StatusCode == HttpStatusCode.PartialContent ? offset : 0;
            var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            var content = new SourceContent(stream, start, size, HubClient.Redact(answered), validator, response)
            {
                RangeEnd = response.StatusCode == HttpStatusCode.PartialContent ? response.Content.Headers.ContentRange?.To : null,
            };
            if (response.StatusCode == HttpStatusCode.PartialContent || response.Headers.AcceptRanges.Contains("bytes"))
            {
                content.OpenRange = (_, _, _, _) => throw new InvalidOperationException("Replaced by the caller.");
                content.Host = HttpSource.HostKey(_client.ResolveUri(file.Repo, commit, file.File));
            }

            return content;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static HubFileReference Reference(ModelDefinition model) =>
        model.HuggingFace ?? throw new InvalidOperationException($"{model.Name} has no Hugging Face source; HubSource is planned only for models that do.");
}
