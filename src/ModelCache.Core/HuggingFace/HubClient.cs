using System;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Transfer;
using ModelCache.Catalog;
using ModelCache.Primitives;

namespace ModelCache.HuggingFace;

/// <summary>
/// Talks to a hub's resolve endpoint: HEAD for the metadata, GET for the bytes. Redirects are followed
/// here, not by HttpClient, so the token goes to the endpoint's scheme, host and port only, and an
/// https→http redirect is refused. Every answer is validated before it can name a path.
/// </summary>
internal sealed class HubClient
{
    private const int MaxRedirects = RedirectPolicy.MaxRedirects;
    private readonly HttpClient _client;
    private readonly HubSettings _settings;
    private readonly TimeSpan _timeout;

    public HubClient(HttpClient client, HubSettings settings, TimeSpan timeout)
    {
        _client = client;
        _settings = settings;
        _timeout = timeout;
    }

    public Uri ResolveUri(HubRepoId repo, string revision, string path) => HubUrls.Resolve(_settings.Endpoint, repo, revision, path);

    /// <summary>HEAD of the resolve URL. Redirects on the endpoint's own host (a renamed repo) are followed; one to a CDN is not, its headers are the answer.</summary>
    public async Task<HubFileMetadata> GetMetadataAsync(HubRepoId repo, string revision, string path, CancellationToken cancellationToken)
    {
        var address = ResolveUri(repo, revision, path);
        var subject = $"{repo}@{revision}:{path}";
        for (var redirects = 0; ; redirects++)
        {
            using var response = await SendAsync(HttpMethod.Head, address, null, subject, cancellationToken).ConfigureAwait(false);
            if (IsRedirect(response) && Header(response, "X-Repo-Commit") is null && redirects < MaxRedirects && response.Headers.Location is { } location)
            {
                var next = location.IsAbsoluteUri ? location : new Uri(address, location);
                if (UriAuthority.Same(next, _settings.Endpoint))
                {
                    address = next;
                    continue;
                }
            }

            if (!IsRedirect(response))
            {
                ThrowForStatus(response, address, subject);
            }

            return ReadMetadata(response, address, subject);
        }
    }

    /// <summary>GET of the resolve URL from <paramref name="offset"/>, following redirects itself.</summary>
    /// <returns>The open response (200 or 206) and the address that answered.</returns>
    /// <param name="end">Last byte wanted (a segment of a segmented download); null for the rest of the file.</param>
    public async Task<(HttpResponseMessage Response, Uri Address)> GetAsync(Uri resolveUri, long offset, string subject, CancellationToken cancellationToken, long? end = null)
    {
        var address = resolveUri;
        for (var redirects = 0; ; redirects++)
        {
            var response = await SendAsync(HttpMethod.Get, address, offset > 0 || end is not null ? offset : null, end, subject, cancellationToken).ConfigureAwait(false);
            if (IsRedirect(response) && response.Headers.Location is { } location)
            {
                response.Dispose();
                address = RedirectPolicy.Next(resolveUri, address, location, redirects, subject, "Check HF_ENDPOINT, or ask the hub's owner to fix the redirect");
                continue;
            }

            try
            {
                ThrowForStatus(response, address, subject);
            }
            catch
            {
                response.Dispose();
                throw;
            }

            return (response, address);
        }
    }

    /// <summary>
    /// The validator a blob's bytes are resumed and fetched in segments under: its id names the content, so no If-Range is
    /// needed (a changed file has another id), and the whole file is hashed against the id before it is promoted.
    /// </summary>
    public static string BlobValidator(string blobId) => "hub-blob:" + blobId;

    /// <summary>
    /// GET of bytes [<paramref name="offset"/>, <paramref name="end"/>] of a blob through its resolve URL (pinned to a commit,
    /// so every range reads the same blob) as a <see cref="SourceContent"/> of a file of <paramref name="size"/> bytes. When the
    /// answer offers byte ranges, its <see cref="SourceContent.OpenRange"/> opens further ranges the same way (a segmented download).
    /// </summary>
    public async Task<SourceContent> OpenBlobAsync(Uri resolveUri, long size, string validator, long offset, long? end, string subject, CancellationToken cancellationToken)
    {
        var (response, answered) = await GetAsync(resolveUri, offset, subject, cancellationToken, end).ConfigureAwait(false);
        try
        {
            var partial = response.StatusCode == HttpStatusCode.PartialContent;
            if (partial && response.Content.Headers.ContentRange?.From != offset)
            {
                throw TransferException.Transient("UnexpectedContentRange",
                    $"{Redact(answered)} answered a resume of {subject} with an unexpected range ({response.Content.Headers.ContentRange}); starting again.", "None needed.", keepPartial: false);
            }

            var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            // A range's own total (Content-Range) must agree with the hub's size, or segments are refused (SegmentedDownload).
            var total = partial && response.Content.Headers.ContentRange?.Length is { } length ? length : size;
            var content = new SourceContent(stream, partial ? offset : 0, total, Redact(answered), validator, response)
            {
                RangeEnd = partial ? response.Content.Headers.ContentRange?.To : null,
            };
            if (partial || response.Headers.AcceptRanges.Contains("bytes"))
            {
                content.OpenRange = (from, to, _, token) => OpenBlobAsync(resolveUri, size, validator, from, to, subject, token);
                content.Host = HttpSource.HostKey(resolveUri);
            }

            return content;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public static string Redact(Uri address) => HttpSource.Redact(address);

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri address, long? offset, string subject, CancellationToken cancellationToken) =>
        SendAsync(method, address, offset, null, subject, cancellationToken);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri address, long? offset, long? end, string subject, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, address);
        if (_settings.Token is { } token && UriAuthority.Same(address, _settings.Endpoint))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        // The size and ids must describe the bytes as stored, not a compressed rendition.
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        if (offset is { } from)
        {
            request.Headers.Range = new RangeHeaderValue(from, end);
        }

        return await HeaderTimeout.SendAsync(_client, request, _timeout,
            ex => TransferException.Transient("DownloadFailed",
                $"Cannot reach {Redact(address)} for {subject}: {ex.GetBaseException().Message}",
                "Check the network, the proxy (HTTPS_PROXY) and HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache only.", inner: ex),
            ex => TransferException.Transient("DownloadTimedOut",
                $"{Redact(address)} did not send complete response headers within {_timeout.TotalSeconds:0} s for {subject} (none arrived, or they arrived too slowly).", "Retry later or raise -TimeoutSec.", inner: ex),
            cancellationToken).ConfigureAwait(false);
    }

    private void ThrowForStatus(HttpResponseMessage response, Uri address, string subject)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var shown = Redact(address);
        var code = Header(response, "X-Error-Code");
        var tokenHint = _settings.Token is null
            ? "Set $env:HF_TOKEN to a hub access token that can read the repository."
            : "Check that $env:HF_TOKEN is valid and can read the repository.";
        throw status switch
        {
            401 => TransferException.Permanent("HubAuthenticationRequired", ModelCacheErrorKind.PermissionDenied,
                $"{shown} requires authentication for {subject} (HTTP 401): the repository is private, gated or does not exist.", tokenHint),
            403 => TransferException.Permanent("HubAccessDenied", ModelCacheErrorKind.PermissionDenied,
                $"{shown} refused access to {subject} (HTTP 403).", "For a gated repository accept its conditions on the hub's page; " + tokenHint),
            404 when code is "RevisionNotFound" => TransferException.Permanent("HubRevisionNotFound", ModelCacheErrorKind.NotFound,
                $"{subject}: the revision does not exist on {_settings.Endpoint} (HTTP 404, RevisionNotFound).", "Check -Revision: a branch, tag or full commit id of the repository."),
            404 when code is "RepoNotFound" or "RepositoryNotFound" => TransferException.Permanent("HubRepositoryNotFound", ModelCacheErrorKind.NotFound,
                $"{subject}: the repository does not exist on {_settings.Endpoint} (HTTP 404, {code}).", "Check the repository id ('org/name') and HF_ENDPOINT; " + tokenHint),
            404 or 410 => TransferException.Permanent("HubEntryNotFound", ModelCacheErrorKind.NotFound,
                $"{subject}: the file does not exist at that revision on {_settings.Endpoint} (HTTP {status}{(code is null ? string.Empty : ", " + code)}).",
                "Check -File: the path of the file in the repository, with '/' separators, as listed on its 'Files' page."),
            416 => TransferException.Transient("ResumeRejected", $"{shown} rejected resuming {subject} (HTTP 416); starting again.", "None needed.", keepPartial: false),
            408 or 429 or >= 500 => TransferException.Transient("DownloadFailed",
                $"{shown} answered HTTP {status} {response.ReasonPhrase} for {subject}.", "Retry later or raise -RetryCount.", RetryAfter(response)),
            _ => TransferException.Permanent("DownloadFailed", ModelCacheErrorKind.ConnectionError,
                $"{shown} answered HTTP {status} {response.ReasonPhrase} for {subject}.", "Check HF_ENDPOINT and the repository id."),
        };
    }

    private static HubFileMetadata ReadMetadata(HttpResponseMessage response, Uri address, string subject)
    {
        var shown = Redact(address);
        var commit = Header(response, "X-Repo-Commit");
        if (!HubNames.IsCommitId(commit))
        {
            throw Invalid(shown, subject, commit is null ? "no X-Repo-Commit header" : $"an X-Repo-Commit that is not a 40-hex commit id ('{Shorten(commit)}')");
        }

        var etag = HubNames.NormalizeETag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag"));
        if (!HubNames.IsBlobId(etag))
        {
            throw Invalid(shown, subject, etag is null ? "no X-Linked-Etag or ETag header" : $"an ETag that is not a SHA-256 or git blob id ('{Shorten(etag)}')");
        }

        var sizeText = Header(response, "X-Linked-Size") ?? response.Content.Headers.ContentLength?.ToString(CultureInfo.InvariantCulture);
        if (!long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            throw Invalid(shown, subject, sizeText is null ? "no X-Linked-Size or Content-Length" : $"a size that is not a number ('{Shorten(sizeText)}')");
        }

        return new HubFileMetadata(commit!, etag!, size, shown);
    }

    private static TransferException Invalid(string shown, string subject, string problem) =>
        TransferException.BadContent("HubInvalidResponse", $"{shown} answered {subject} with {problem}. Nothing was saved.",
            "HF_ENDPOINT does not behave as a Hugging Face hub: check it, or the proxy in between.");

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length > 80 ? text.Substring(0, 80) + "…" : text;

    private static bool IsRedirect(HttpResponseMessage response) => RedirectPolicy.IsRedirect(response);

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? values.FirstOrDefault() : null;

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
}
