using System;
using System.IO;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Transfer;
using ModelCache.Primitives;

namespace ModelCache.Registry;

/// <summary>
/// A small client of the OCI distribution API for one repository. Every request goes through <see cref="SendAsync"/>:
/// the registry's Authorization (Bearer token or Basic, from <see cref="RegistryAuthenticator"/>) is sent only to the
/// registry's own scheme, host and port, so an upload location or blob redirect elsewhere gets no credentials; a 401
/// from the registry is answered once (token flow) and the request sent again; GET and HEAD follow redirects under
/// the HTTP mirrors' rules. Pull operations live in OciRegistryClient.Pull.cs, push operations in OciRegistryClient.Push.cs.
/// </summary>
public sealed partial class OciRegistryClient : IDisposable
{
    private readonly HttpClient _client;
    private readonly TimeSpan _timeout;
    private readonly IEnvironment _environment;
    private readonly SemaphoreSlim _settle = new(1, 1);
    private bool _settled;
    private bool _ownsClient;

    /// <param name="client">Made by the caller (SourcePlanner.CreateClient): no automatic redirects, proxy settings applied.</param>
    /// <param name="push">Ask tokens for pull,push on the repository (else pull).</param>
    internal OciRegistryClient(HttpClient client, OciReference registry, MirrorCredential? credential, IEnvironment environment, TimeSpan timeout, bool push,
        Func<DateTimeOffset>? now = null)
    {
        _client = client;
        _timeout = timeout;
        _environment = environment;
        Registry = registry;
        Auth = new RegistryAuthenticator(client, registry, credential, environment, timeout, now, push ? registry.PushScope : null);
    }

    /// <summary>A client with its own HttpClient (proxy and TLS settings of <paramref name="network"/>), disposed with it.</summary>
    /// <param name="push">Ask tokens for pull,push on the repository (else pull).</param>
    public static OciRegistryClient Create(OciReference registry, NetworkOptions network, IEnvironment environment, bool push) =>
        new(SourcePlanner.CreateClient(network, environment), registry, network.MirrorCredential, environment, network.Timeout, push) { _ownsClient = true };

    /// <summary>The registry, with its transport (HTTPS or plain HTTP) settled after the first request.</summary>
    public OciReference Registry { get; private set; }

    internal RegistryAuthenticator Auth { get; }

    /// <summary>/v2/&lt;repository&gt;/blobs/&lt;digest&gt;.</summary>
    public Uri BlobUri(string digest) => new(Registry.RegistryUri, "v2/" + Registry.Repository + "/blobs/" + digest);

    /// <summary>/v2/&lt;repository&gt;/manifests/&lt;tag or digest&gt;.</summary>
    public Uri ManifestUri(string reference) => new(Registry.RegistryUri, "v2/" + Registry.Repository + "/manifests/" + reference);

    /// <summary>/v2/&lt;repository&gt;/blobs/uploads/: where an upload session starts.</summary>
    public Uri UploadsUri => new(Registry.RegistryUri, "v2/" + Registry.Repository + "/blobs/uploads/");

    /// <summary>
    /// Sends one request and returns the response (the caller disposes it and judges its status). A 401 from the
    /// registry is answered once and the request rebuilt by <paramref name="build"/> and sent again; a second 401,
    /// or a refused challenge, throws RegistryAccessDenied. For GET and HEAD a redirect is followed (without
    /// credentials unless it stays on the registry's host). <paramref name="build"/> receives a callback that
    /// re-arms the timeout: a body calls it as bytes go out, so a long upload is limited by stalls, not by its length.
    /// </summary>
    /// <param name="subject">What the request is about, for messages (a model name, "the manifest of …").</param>
    internal async Task<HttpResponseMessage> SendAsync(Func<Action, HttpRequestMessage> build, string subject, CancellationToken cancellationToken)
    {
        await SettleTransportAsync(cancellationToken).ConfigureAwait(false);
        var answered = false;
        Uri? start = null;
        Uri? redirected = null;
        for (var redirects = 0; ; redirects++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            using var request = build(() => timeout.CancelAfter(_timeout));
            if (redirected is not null)
            {
                request.RequestUri = redirected;
            }
            else if (request.RequestUri is { } built && built.Scheme != Registry.RegistryUri.Scheme
                     && string.Equals(built.Host, Registry.RegistryUri.Host, StringComparison.OrdinalIgnoreCase) && built.Port == Registry.RegistryUri.Port)
            {
                // Built before the transport was settled (or named by the registry in the other scheme): the registry speaks only one.
                request.RequestUri = new UriBuilder(built) { Scheme = Registry.RegistryUri.Scheme, Port = built.Port }.Uri;
            }

            start ??= request.RequestUri!;
            var address = request.RequestUri!;
            var onRegistry = UriAuthority.Same(address, Registry.RegistryUri);
            var sent = onRegistry ? Auth.Current() : null;
            // Only ever the registry's own host: an upload location or a redirect to blob storage elsewhere goes without it.
            request.Headers.Authorization = sent;
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or System.Net.Sockets.SocketException or IOException)
            {
                throw TransferException.Transient("RegistryUnreachable",
                    $"The registry {Registry} could not be reached for {subject} ({HttpSource.Redact(address)}): {ex.GetBaseException().Message}",
                    "Check that the registry is running and reachable (network, proxy: HTTPS_PROXY or -Proxy), then try again.", inner: ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw TransferException.Transient("RegistryUnreachable",
                    $"The registry {Registry} did not answer within {_timeout.TotalSeconds:0} s for {subject} ({HttpSource.Redact(address)}).",
                    "Try again later, or raise -TimeoutSec.", inner: ex);
            }

            var status = (int)response.StatusCode;
            if (status == 401 && onRegistry)
            {
                using (response)
                {
                    if (answered)
                    {
                        throw Auth.Denied(subject, "refused access (HTTP 401)");
                    }

                    await Auth.AnswerAsync(response, sent, subject, cancellationToken).ConfigureAwait(false);
                }

                answered = true;
                redirects--;
                continue;
            }

            if (status == 403 && onRegistry)
            {
                response.Dispose();
                throw Auth.Denied(subject, "refused access (HTTP 403)");
            }

            if (RedirectPolicy.IsRedirect(response) && response.Headers.Location is { } location
                && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head))
            {
                response.Dispose();
                redirected = RedirectPolicy.Next(start, address, location, redirects, subject, $"Ask the administrator of {Registry} to fix the redirect");
                continue;
            }

            return response;
        }
    }

    /// <summary>A Location header resolved against the request it answered, under the redirect rules (http(s) only, never https→http).</summary>
    internal Uri ResolveLocation(HttpResponseMessage response, Uri requested, string subject)
    {
        var location = response.Headers.Location ?? throw Protocol(subject, $"answered HTTP {(int)response.StatusCode} without the Location header the distribution spec requires");
        return RedirectPolicy.Next(requested, requested, location, 0, subject, $"Ask the administrator of {Registry} to fix its upload locations");
    }

    /// <summary>The registry broke the distribution protocol (a missing header, an impossible answer).</summary>
    internal TransferException Protocol(string subject, string what) =>
        TransferException.Permanent("RegistryProtocolError", ModelCacheErrorKind.InvalidData,
            $"The registry {Registry} {what} for {subject}.",
            $"Check that {Registry.RegistryUri} is an OCI distribution registry; ask its administrator, or try another registry.");

    /// <summary>A GET or HEAD request with the given Accept types.</summary>
    internal static Func<Action, HttpRequestMessage> Simple(HttpMethod method, Uri address, params string[] accept) => _ =>
    {
        var request = new HttpRequestMessage(method, address);
        foreach (var type in accept)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        return request;
    };

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }

        _settle.Dispose();
    }

    /// <summary>
    /// HTTPS or plain HTTP, once per client, by the rule every registry path uses (<see cref="RegistryTransport"/>): a
    /// loopback or listed insecure registry is asked over HTTPS first. A registry the probe cannot settle (unreachable) keeps
    /// the parsed transport: the request then fails by itself, and a client lives for one operation.
    /// </summary>
    private async Task SettleTransportAsync(CancellationToken cancellationToken)
    {
        if (_settled)
        {
            return;
        }

        await _settle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_settled && await RegistryTransport.ResolveAsync(_client, Registry, _environment, _timeout, cancellationToken).ConfigureAwait(false) is { } resolved)
            {
                Registry = resolved;
            }

            Auth.PlainHttp = Registry.RegistryUri.Scheme == Uri.UriSchemeHttp;
            _settled = true;
        }
        finally
        {
            _settle.Release();
        }
    }
}
