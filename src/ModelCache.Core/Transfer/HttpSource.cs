using System;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;

namespace ModelCache.Transfer;

/// <summary>
/// Reads a model over HTTP(S): from <c>&lt;mirror base&gt;/&lt;FileName&gt;</c> for a mirror, or from the
/// catalog URL for upstream.
/// </summary>
public sealed class HttpSource : IModelSource
{
    private readonly HttpClient _client;
    private readonly Uri? _mirrorBase;

    private HttpSource(HttpClient client, Uri? mirrorBase, TransferSource kind)
    {
        _client = client;
        _mirrorBase = mirrorBase;
        Kind = kind;
    }

    public TransferSource Kind { get; }

    public bool IsNetwork => true;

    public static HttpSource Upstream(HttpClient client) => new(client, null, TransferSource.Upstream);

    public static HttpSource Mirror(HttpClient client, Uri mirrorBase)
    {
        var text = mirrorBase.ToString();
        return new HttpSource(client, new Uri(text.EndsWith("/", StringComparison.Ordinal) ? text : text + "/"), TransferSource.Mirror);
    }

    public string Locate(ModelDefinition model) => Redact(Address(model));

    public async Task<SourceContent> OpenAsync(ModelDefinition model, CancellationToken cancellationToken)
    {
        var address = Address(model);
        HttpResponseMessage response;
        try
        {
            response = await _client.GetAsync(address, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new ModelCacheException("DownloadFailed", ModelCacheErrorKind.ConnectionError,
                $"Cannot download {model.Name} from {Redact(address)}: {ex.GetBaseException().Message}",
                "Check the network, proxy and mirror settings, or use -Mirror with a reachable copy.", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ModelCacheException("DownloadTimedOut", ModelCacheErrorKind.ConnectionError,
                $"Timed out connecting to {Redact(address)} for {model.Name}.", "Retry later or use a closer mirror.", ex);
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            throw new ModelCacheException(
                response.StatusCode == HttpStatusCode.NotFound ? "SourceFileNotFound" : "DownloadFailed",
                response.StatusCode == HttpStatusCode.NotFound ? ModelCacheErrorKind.NotFound : ModelCacheErrorKind.ConnectionError,
                $"Downloading {model.Name} from {Redact(address)} failed: HTTP {status} {response.ReasonPhrase}.",
                response.StatusCode == HttpStatusCode.NotFound
                    ? "Check that the mirror holds the file, or that the catalog URL is current."
                    : "Retry later, or use -Mirror with another copy.");
        }

        var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        return new SourceContent(stream, response.Content.Headers.ContentLength, Redact(address), response);
    }

    private Uri Address(ModelDefinition model) => _mirrorBase is null ? model.Url : new Uri(_mirrorBase, Uri.EscapeDataString(model.FileName));

    /// <summary>The address without user info or query string, which may carry credentials.</summary>
    public static string Redact(Uri address) => new UriBuilder(address) { UserName = string.Empty, Password = string.Empty, Query = string.Empty }.Uri.ToString();
}
