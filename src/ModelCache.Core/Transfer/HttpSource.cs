using System;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;

namespace ModelCache.Transfer;

/// <summary>
/// Reads a model over HTTP(S): from <c>&lt;mirror base&gt;/&lt;FileName&gt;</c> for a mirror, or from the
/// catalog URL for upstream. Follows redirects itself so it can refuse https→http and keep
/// credentials on the host they were given for.
/// </summary>
public sealed class HttpSource : IModelSource
{
    private const string ETagPrefix = "etag:";
    private const string DatePrefix = "date:";
    private readonly HttpClient _client;
    private readonly Uri? _mirrorBase;
    private readonly MirrorCredential? _credential;
    private readonly TimeSpan _timeout;
    private readonly SourceHealth? _health;
    private readonly OciReference? _registry;
    private readonly RegistryAuthenticator? _auth;

    private HttpSource(HttpClient client, Uri? mirrorBase, MirrorCredential? credential, TimeSpan timeout, TransferSource kind, SourceHealth? health)
    {
        _health = health;
        _client = client;
        _mirrorBase = mirrorBase;
        _credential = credential;
        _timeout = timeout;
        Kind = kind;
    }

    private HttpSource(HttpClient client, OciReference registry, RegistryAuthenticator auth, TimeSpan timeout, SourceHealth? health)
        : this(client, registry.RegistryUri, null, timeout, TransferSource.Mirror, health)
    {
        _registry = registry;
        _auth = auth;
    }

    public TransferSource Kind { get; }

    public bool IsNetwork => true;

    public static HttpSource Upstream(HttpClient client, TimeSpan timeout) => Upstream(client, timeout, null);

    public static HttpSource Mirror(HttpClient client, Uri mirrorBase, MirrorCredential? credential, TimeSpan timeout) => Mirror(client, mirrorBase, credential, timeout, null);

    /// <param name="health">The batch's circuit breaker: hosts that refused connections are skipped.</param>
    internal static HttpSource Upstream(HttpClient client, TimeSpan timeout, SourceHealth? health) => new(client, null, null, timeout, TransferSource.Upstream, health);

    /// <param name="health">The batch's circuit breaker: hosts that refused connections are skipped.</param>
    internal static HttpSource Mirror(HttpClient client, Uri mirrorBase, MirrorCredential? credential, TimeSpan timeout, SourceHealth? health)
    {
        var text = mirrorBase.ToString();
        return new HttpSource(client, new Uri(text.EndsWith("/", StringComparison.Ordinal) ? text : text + "/"), credential, timeout, TransferSource.Mirror, health);
    }

    /// <summary>A registry as a mirror: the model is the blob sha256:&lt;catalog hash&gt; of the repository.</summary>
    internal static HttpSource Registry(HttpClient client, OciReference registry, RegistryAuthenticator auth, TimeSpan timeout, SourceHealth? health) =>
        new(client, registry, auth, timeout, health);

    public string Locate(ModelDefinition model) => Redact(Address(model));

    public Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken) =>
        OpenAsync(model, resume, null, cancellationToken);

    /// <param name="end">Last byte wanted (a segment of a segmented download); null for the rest of the file.</param>
    private async Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, long? end, CancellationToken cancellationToken)
    {
        var address = Address(model);
        var answered = false;
        for (var redirects = 0; ; redirects++)
        {
            var sent = _auth is not null && UriAuthority.Same(address, _mirrorBase!) ? _auth.Current() : null;
            var response = await SendAsync(model, address, resume, end, sent, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (_auth is not null && status is 401 or 403 && UriAuthority.Same(address, _mirrorBase!))
            {
                // A registry that refuses is an error for this source, never taken for a missing blob.
                using (response)
                {
                    if (status == 403 || answered)
                    {
                        throw _auth.Denied(model.Name, $"refused access (HTTP {status})");
                    }

                    await _auth.AnswerAsync(response, sent, model.Name, cancellationToken).ConfigureAwait(false);
                }

                answered = true;
                redirects--;
                continue;
            }

            if (RedirectPolicy.IsRedirect(response) && response.Headers.Location is { } location)
            {
                response.Dispose();
                address = RedirectPolicy.Next(Address(model), address, location, redirects, model.Name, "Check the mirror or catalog URL, or ask the server's owner to fix the redirect");
                continue;
            }

            var content = await InterpretAsync(model, address, response, resume, cancellationToken).ConfigureAwait(false);
            if (content.Validator is not null && (response.StatusCode == HttpStatusCode.PartialContent || AcceptsByteRanges(response)))
            {
                // Every segment goes through this same method: same redirects, same credential rules, one host budget.
                content.OpenRange = (from, to, validator, token) => OpenAsync(model, new ResumePoint(from, validator), to, token);
                content.Host = HostKey(Address(model));
            }

            return content;
        }
    }

    private static bool AcceptsByteRanges(HttpResponseMessage response)
    {
        foreach (var unit in response.Headers.AcceptRanges)
        {
            if (string.Equals(unit, "bytes", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    internal static string HostKey(Uri address) => address.Scheme + "://" + address.Host + ":" + address.Port.ToString(CultureInfo.InvariantCulture);

    private async Task<HttpResponseMessage> SendAsync(ModelDefinition model, Uri address, ResumePoint? resume, long? end, AuthenticationHeaderValue? registryAuthorization, CancellationToken cancellationToken)
    {
        if (_health?.DownReason(address) is { } reason)
        {
            throw TransferException.Permanent("SourceSkipped", ModelCacheErrorKind.ConnectionError,
                $"Skipped {Redact(address)} for {model.Name}: its host refused a connection earlier in this batch ({reason}).",
                UnreachableHint(model));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, address);
        if (_credential is not null && _mirrorBase is not null && UriAuthority.Same(address, _mirrorBase))
        {
            request.Headers.Authorization = _credential.Header;
        }

        // Only ever the registry's own host: a redirect to blob storage elsewhere goes without it.
        if (registryAuthorization is not null && _mirrorBase is not null && UriAuthority.Same(address, _mirrorBase))
        {
            request.Headers.Authorization = registryAuthorization;
        }

        if (resume is not null)
        {
            request.Headers.Range = new RangeHeaderValue(resume.Offset, end);
            request.Headers.IfRange = ToIfRange(resume.Validator);
        }

        return await HeaderTimeout.SendAsync(_client, request, _timeout,
            ex => Unreachable(model, address, ex, segment: end is not null),
            ex => TransferException.Transient("DownloadTimedOut",
                $"{Redact(address)} did not send complete response headers within {_timeout.TotalSeconds:0} s for {model.Name} (none arrived, or they arrived too slowly).",
                "Retry later, raise -TimeoutSec, or use a closer mirror.", inner: ex),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A refused (or reset-before-answering, or unresolvable) host is not retried: it is marked down for the batch and
    /// the next source is tried. Other connection failures are transient.
    /// </summary>
    /// <param name="segment">An extra connection of a segmented download: a refusal there means "fewer connections", not "host down".</param>
    private Exception Unreachable(ModelDefinition model, Uri address, Exception ex, bool segment)
    {
        var why = ex.GetBaseException().Message;
        if (_health is not null && !segment && SourceHealth.IsRefusal(ex))
        {
            _health.MarkDown(address, why);
            return TransferException.Permanent("SourceUnreachable", ModelCacheErrorKind.ConnectionError,
                $"Cannot download {model.Name} from {Redact(address)}: {why}. The host is skipped for the rest of this batch.",
                UnreachableHint(model), ex);
        }

        return TransferException.Transient("DownloadFailed",
            $"Cannot download {model.Name} from {Redact(address)}: {why}",
            IsMirror ? "Check the network, the proxy (HTTPS_PROXY, -Proxy) and that the mirror is reachable, or use another mirror."
                : $"Check the network, the proxy (HTTPS_PROXY, -Proxy) and that the catalog URL's host is up; -Mirror or $env:MODELCACHE_MIRROR can name a reachable copy of '{model.FileName}'.",
            inner: ex);
    }

    private async Task<SourceContent> InterpretAsync(ModelDefinition model, Uri address, HttpResponseMessage response, ResumePoint? resume, CancellationToken cancellationToken)
    {
        var shown = Redact(address);
        var status = (int)response.StatusCode;
        if (!response.IsSuccessStatusCode)
        {
            var retryAfter = RetryAfter(response);
            ServerErrorBody? said = null;
            try
            {
                // A 416 means the same whatever the server explains: the resume point is past its file, so start again.
                if (status != 416)
                {
                    said = await ServerErrorBody.ReadAsync(response, _timeout, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                response.Dispose();
            }

            if (said is not null)
            {
                throw FromServer(model, shown, status, said, retryAfter);
            }

            var mirror = IsMirror;
            throw status switch
            {
                404 or 410 => TransferException.Permanent("SourceFileNotFound", ModelCacheErrorKind.NotFound,
                    $"{shown} has no {model.Name} (HTTP {status}).",
                    _registry is not null ? $"Push '{model.FileName}' to {_registry} as a blob (its digest is sha256:{model.Sha256}), or remove the registry from -Mirror / $env:MODELCACHE_MIRROR."
                    : mirror ? $"Check that the mirror holds '{model.FileName}', or remove it from -Mirror / $env:MODELCACHE_MIRROR."
                        : $"The catalog URL may be out of date: check the url of {model.Name}'s catalog entry, or point -Mirror or $env:MODELCACHE_MIRROR at a copy of '{model.FileName}'."),
                401 or 403 => TransferException.Permanent("AccessDenied", ModelCacheErrorKind.PermissionDenied,
                    $"{shown} refused access to {model.Name} (HTTP {status}).",
                    mirror ? "For a private mirror pass -Credential or set $env:MODELCACHE_TOKEN."
                        : $"The catalog URL's host refused access (credentials are sent only to mirrors): point -Mirror or $env:MODELCACHE_MIRROR at a copy of '{model.FileName}' you may read."),
                416 => TransferException.Transient("ResumeRejected",
                    $"{shown} rejected resuming {model.Name} (HTTP 416); starting again.", "None needed.", keepPartial: false),
                408 or 429 or >= 500 => TransferException.Transient("DownloadFailed",
                    $"{shown} answered HTTP {status} {response.ReasonPhrase} for {model.Name}.",
                    mirror ? "Retry later, raise -RetryCount, or use another mirror."
                        : "Retry later or raise -RetryCount; the catalog URL's host is failing, and -Mirror or $env:MODELCACHE_MIRROR can name a copy.", retryAfter),
                _ => TransferException.Permanent("DownloadFailed", ModelCacheErrorKind.ConnectionError,
                    $"{shown} answered HTTP {status} {response.ReasonPhrase} for {model.Name}.",
                    mirror ? "Check the mirror's address in -Mirror / $env:MODELCACHE_MIRROR." : $"Check the catalog URL of {model.Name}."),
            };
        }

        if (response.Content.Headers.ContentType?.MediaType is "text/html")
        {
            response.Dispose();
            throw TransferException.BadContent("UnexpectedContent",
                $"{shown} sent an HTML page instead of {model.Name} (often a login or error page behind a proxy).",
                "Open the URL in a browser to see the page; check proxy, credentials and the mirror path.");
        }

        var offset = 0L;
        long? total = response.Content.Headers.ContentLength;
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            var range = response.Content.Headers.ContentRange;
            if (resume is null || range?.From != resume.Offset)
            {
                response.Dispose();
                throw TransferException.Transient("UnexpectedContentRange",
                    $"{shown} answered a resume of {model.Name} with an unexpected range ({range}); starting again.", "None needed.", keepPartial: false);
            }

            offset = resume.Offset;
            total = range.Length ?? (total is { } rest ? offset + rest : null);
        }

        var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        return new SourceContent(stream, offset, total, shown, Validator(response), response) { RangeEnd = response.StatusCode == HttpStatusCode.PartialContent ? response.Content.Headers.ContentRange?.To : null };
    }

    private bool IsMirror => _mirrorBase is not null;

    private string UnreachableHint(ModelDefinition model) => IsMirror
        ? "Check that the mirror is running and reachable, or remove it from -Mirror / $env:MODELCACHE_MIRROR."
        : $"Check that the catalog URL's host is up and reachable from here (network, -Proxy or HTTPS_PROXY), or point -Mirror or $env:MODELCACHE_MIRROR at a copy of '{model.FileName}'.";

    /// <summary>
    /// A server that explains its failure (a ModelCache server's <c>{errorId, message, retryable}</c>): its message and id
    /// are shown, and it is retried only when it says so or sends Retry-After, whatever the status.
    /// </summary>
    private TransferException FromServer(ModelDefinition model, string shown, int status, ServerErrorBody said, TimeSpan? retryAfter)
    {
        var message = $"{shown} answered HTTP {status} for {model.Name}: {said.Message} (server error {said.ErrorId}).";
        var errorId = status switch { 404 or 410 => "SourceFileNotFound", 401 or 403 => "AccessDenied", _ => "DownloadFailed" };
        var where = IsMirror ? "the mirror's address" : $"the catalog URL of {model.Name}";
        if (said.Retryable || retryAfter is not null)
        {
            return TransferException.Transient(errorId, message,
                $"Retry later: the server at {where} says the failure may pass; its administrator finds why in its log under {said.ErrorId}.", retryAfter);
        }

        var kind = status switch { 404 or 410 => ModelCacheErrorKind.NotFound, 401 or 403 => ModelCacheErrorKind.PermissionDenied, _ => ModelCacheErrorKind.ConnectionError };
        return TransferException.Permanent(errorId, kind, message,
            $"The server at {where} says asking again will not help: its administrator finds why in its log under {said.ErrorId}"
            + (IsMirror ? "; meanwhile use another mirror." : $"; meanwhile point -Mirror or $env:MODELCACHE_MIRROR at a copy of '{model.FileName}'."));
    }

    /// <summary>A strong ETag, else Last-Modified: what If-Range may carry (weak ETags may not).</summary>
    private static string? Validator(HttpResponseMessage response)
    {
        if (response.Headers.ETag is { IsWeak: false } etag)
        {
            return ETagPrefix + etag.Tag;
        }

        return response.Content.Headers.LastModified is { } modified ? DatePrefix + modified.ToString("R", CultureInfo.InvariantCulture) : null;
    }

    private static RangeConditionHeaderValue? ToIfRange(string? validator)
    {
        if (validator is null)
        {
            return null;
        }

        if (validator.StartsWith(ETagPrefix, StringComparison.Ordinal))
        {
            return new RangeConditionHeaderValue(new EntityTagHeaderValue(validator.Substring(ETagPrefix.Length)));
        }

        return validator.StartsWith(DatePrefix, StringComparison.Ordinal) &&
               DateTimeOffset.TryParse(validator.Substring(DatePrefix.Length), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            ? new RangeConditionHeaderValue(date)
            : null;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        return header?.Date is { } date ? date - DateTimeOffset.UtcNow : null;
    }

    private Uri Address(ModelDefinition model) => _registry is not null ? _registry.BlobUri(model.Sha256)
        : _mirrorBase is not null ? new Uri(_mirrorBase, Uri.EscapeDataString(model.FileName))
        : model.Url ?? throw new InvalidOperationException($"{model.Name} has no url; an upstream source is planned only for models that have one.");

    /// <summary>The address without user info or query string, which may carry credentials.</summary>
    public static string Redact(Uri address) =>
        address.IsAbsoluteUri ? new UriBuilder(address) { UserName = string.Empty, Password = string.Empty, Query = string.Empty }.Uri.ToString() : address.ToString();
}
