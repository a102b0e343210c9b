using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Configuration;
using ModelCache.Errors;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Transfer;

/// <summary>
/// Authentication to one registry the way the distribution spec has clients do it: anonymous first; on a 401 with a
/// <c>Bearer realm=…,service=…,scope=…</c> challenge a token is asked of the realm (with Basic credentials when there
/// are any) and reused for that scope until it expires; on a <c>Basic</c> challenge the credentials themselves (the
/// registry is https, or loopback). Credentials come from <see cref="RegistryCredentials"/>; nothing (no password,
/// no token) is ever sent to a registry spoken to in plain HTTP off this machine. No secret is ever put in a message.
/// </summary>
internal sealed class RegistryAuthenticator
{
    /// <summary>A token answer is a small JSON object; anything larger is refused unread.</summary>
    public const int MaxTokenResponseBytes = 64 * 1024;
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(5);
    private static readonly Regex TokenShape = new(@"^[A-Za-z0-9\-._~+/]+=*$", RegexOptions.CultureInvariant);
    private static readonly Regex ChallengeParameter = new(@"(\w+)\s*=\s*(?:""((?:[^""\\]|\\.)*)""|([^\s,""]*))", RegexOptions.CultureInvariant);

    private readonly HttpClient _client;
    private readonly OciReference _registry;
    private readonly MirrorCredential? _given;
    private readonly IEnvironment _environment;
    private readonly TimeSpan _timeout;
    private readonly Func<DateTimeOffset> _now;
    private readonly string? _scope;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private RegistryAccount? _credentials;
    private bool _credentialsResolved;
    private AuthenticationHeaderValue? _bearer;
    private DateTimeOffset _bearerExpires;
    private bool _basic;

    /// <param name="scope">The scope to ask tokens for instead of the challenge's (a push asks for pull,push up front, as registry clients do, so the token of its first request serves the uploads too).</param>
    public RegistryAuthenticator(HttpClient client, OciReference registry, MirrorCredential? given, IEnvironment environment, TimeSpan timeout, Func<DateTimeOffset>? now = null, string? scope = null)
    {
        _scope = scope;
        _client = client;
        _registry = registry;
        _given = given;
        _environment = environment;
        _timeout = timeout;
        _now = now ?? (() => DateTimeOffset.UtcNow);
    }

    /// <summary>Set once the registry turned out to be plain HTTP: then only a loopback one gets credentials or tokens.</summary>
    public bool PlainHttp { get; set; }

    /// <summary>Token requests made so far (tests check reuse).</summary>
    public int TokenRequests { get; private set; }

    /// <summary>The Authorization for a request to the registry host itself, or null for an anonymous one.</summary>
    public AuthenticationHeaderValue? Current()
    {
        if (_bearer is not null && _now() < _bearerExpires)
        {
            return _bearer;
        }

        return _basic && _credentials is { Password: not null } c ? BasicHeader(c) : null;
    }

    /// <summary>
    /// Answers a 401 from the registry: returns when there is something new to send (a fresh token, or Basic
    /// credentials), throws the error naming the registry otherwise.
    /// </summary>
    /// <param name="sent">The Authorization the refused request carried, if any.</param>
    public async Task AnswerAsync(HttpResponseMessage response, AuthenticationHeaderValue? sent, string subject, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Current();
            if (current is not null && !ReferenceEquals(current, sent) && current.Scheme == "Bearer")
            {
                // Another model of the batch fetched a token meanwhile: use it.
                return;
            }

            if (PlainHttp && !_registry.IsLoopback)
            {
                throw TransferException.Permanent("RegistryInsecureSignIn", ModelCacheErrorKind.SecurityError,
                    $"The registry {_registry} asks for a sign-in (HTTP 401) for {subject}, and it speaks plain HTTP: no password or token is sent unencrypted off this machine.",
                    $"Serve the registry over HTTPS (trust a private CA with $env:{CertificateTrust.BundleVariable}), or allow anonymous pulls on it; plain HTTP is used only for registries in $env:{RegistryTransport.InsecureRegistriesVariable} that do not speak TLS.");
            }

            AuthenticationHeaderValue? bearer = null, basic = null;
            foreach (var challenge in response.Headers.WwwAuthenticate)
            {
                if (string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
                {
                    bearer ??= challenge;
                }
                else if (string.Equals(challenge.Scheme, "Basic", StringComparison.OrdinalIgnoreCase))
                {
                    basic ??= challenge;
                }
            }

            if (bearer is not null)
            {
                if (sent is not null && sent.Scheme == "Bearer")
                {
                    throw Denied(subject, "refused the token it issued (HTTP 401)");
                }

                await FetchTokenAsync(Parameters(bearer.Parameter), subject, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (basic is not null)
            {
                var credentials = Credentials();
                if (credentials?.Password is null)
                {
                    throw Denied(subject, "asks for a user name and password (HTTP 401), and none were given");
                }

                if (sent is not null)
                {
                    throw Denied(subject, "refused the user name and password (HTTP 401)");
                }

                _basic = true;
                return;
            }

            throw Denied(subject, "refused access (HTTP 401) without a Bearer or Basic challenge");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The access-denied error for this registry.</summary>
    public TransferException Denied(string subject, string what) =>
        TransferException.Permanent("RegistryAccessDenied", ModelCacheErrorKind.PermissionDenied,
            $"The registry {_registry} {what} for {subject}.",
            $"Pass -Credential with an account that may pull from {_registry.Repository}, or log in so that a Docker-style config.json ($env:DOCKER_CONFIG, else ~/.docker) holds credentials for {RegistryCredentials.HostKey(_registry)} ($env:{RegistryCredentials.UserVariable} and $env:{RegistryCredentials.PasswordVariable} also do); or remove the registry from -Mirror / $env:MODELCACHE_MIRROR.");

    private async Task FetchTokenAsync(IReadOnlyDictionary<string, string> challenge, string subject, CancellationToken cancellationToken)
    {
        if (!challenge.TryGetValue("realm", out var realmText) || !Uri.TryCreate(realmText, UriKind.Absolute, out var realm)
            || (realm.Scheme != Uri.UriSchemeHttps && realm.Scheme != Uri.UriSchemeHttp))
        {
            throw ChallengeInvalid(subject, "names no http(s) token realm");
        }

        if (realm.Scheme != Uri.UriSchemeHttps && !OciReference.IsLoopbackHost(realm.Host))
        {
            throw ChallengeInvalid(subject, $"names the unencrypted token realm {HttpSource.Redact(realm)}, which is used only on this machine (loopback)");
        }

        var scope = _scope ?? (challenge.TryGetValue("scope", out var s) && s.Length > 0 ? s : _registry.PullScope);
        var query = new StringBuilder();
        if (challenge.TryGetValue("service", out var service) && service.Length > 0)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        }

        query.Append("scope=").Append(Uri.EscapeDataString(scope));
        var builder = new UriBuilder(realm) { Query = (realm.Query.TrimStart('?') is { Length: > 0 } q ? q + "&" : string.Empty) + query };
        var shown = HttpSource.Redact(realm);
        var account = Credentials();
        using var request = account?.IdentityToken is { } refreshToken
            // The token spec's OAuth2 flow: a refresh token is exchanged by POST, in the body (never in the address).
            ? new HttpRequestMessage(HttpMethod.Post, realm)
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["grant_type"] = "refresh_token",
                    ["refresh_token"] = refreshToken,
                    ["service"] = service ?? string.Empty,
                    ["scope"] = scope,
                    ["client_id"] = "modelcache",
                }),
            }
            : new HttpRequestMessage(HttpMethod.Get, builder.Uri);
        if (account is { IdentityToken: null, Password: not null })
        {
            request.Headers.Authorization = BasicHeader(account);
        }

        TokenRequests++;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or System.Net.Sockets.SocketException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw TransferException.Transient("RegistryTokenFailed",
                $"The token service {shown} of the registry {_registry} did not answer for {subject}: {ex.GetBaseException().Message}",
                "Retry later; check the network and proxy, and that the registry's token service is up.", inner: ex);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (status is 401 or 403)
            {
                throw Denied(subject, $"(its token service {shown}) refused to issue a token (HTTP {status})");
            }

            if (!response.IsSuccessStatusCode)
            {
                var message = $"The token service {shown} of the registry {_registry} answered HTTP {status} for {subject}.";
                throw status is 408 or 429 or >= 500
                    ? TransferException.Transient("RegistryTokenFailed", message, "Retry later, or use another mirror.")
                    : TransferException.Permanent("RegistryTokenFailed", ModelCacheErrorKind.ConnectionError, message,
                        "Check the registry address in -Mirror / $env:MODELCACHE_MIRROR, or ask the registry's administrator about its token service.");
            }

            if (response.Content.Headers.ContentLength is > MaxTokenResponseBytes)
            {
                throw TokenInvalid(subject, shown, $"announces {response.Content.Headers.ContentLength} bytes, more than the {MaxTokenResponseBytes} a token answer may have");
            }

            byte[] body;
            try
            {
                body = await ReadCappedAsync(response, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw TransferException.Transient("RegistryTokenFailed",
                    $"The token service {shown} of the registry {_registry} did not finish its answer within {_timeout.TotalSeconds:0} s for {subject}.",
                    "Retry later, raise -TimeoutSec, or use another mirror.");
            }

            if (body.Length > MaxTokenResponseBytes)
            {
                throw TokenInvalid(subject, shown, $"is longer than the {MaxTokenResponseBytes} bytes a token answer may have");
            }

            Accept(body, subject, shown);
        }
    }

    private void Accept(byte[] body, string subject, string shown)
    {
        JObject json;
        try
        {
            using var reader = new JsonTextReader(new StringReader(Encoding.UTF8.GetString(body))) { MaxDepth = 8, DateParseHandling = DateParseHandling.None };
            json = JObject.Load(reader);
        }
        catch (JsonException)
        {
            throw TokenInvalid(subject, shown, "is not a JSON object");
        }

        var token = (json["token"] as JValue)?.Value as string;
        if (string.IsNullOrEmpty(token))
        {
            token = (json["access_token"] as JValue)?.Value as string;
        }

        if (string.IsNullOrEmpty(token) || !TokenShape.IsMatch(token))
        {
            throw TokenInvalid(subject, shown, "holds no token (a 'token' or 'access_token' string of token characters)");
        }

        // The spec: a missing or shorter lifetime means 60 s.
        var lifetime = json["expires_in"] is JValue { Type: JTokenType.Integer } e && Convert.ToInt64(e.Value, System.Globalization.CultureInfo.InvariantCulture) is var seconds && seconds > 60
            ? TimeSpan.FromSeconds(Math.Min(seconds, 24 * 3600))
            : TimeSpan.FromSeconds(60);
        _bearer = new AuthenticationHeaderValue("Bearer", token);
        _bearerExpires = _now() + lifetime - ExpiryMargin;
    }

    private static async Task<byte[]> ReadCappedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        while (buffer.Length <= MaxTokenResponseBytes)
        {
            var read = await stream.ReadAsync(chunk, 0, chunk.Length, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private RegistryAccount? Credentials()
    {
        if (!_credentialsResolved)
        {
            _credentials = RegistryCredentials.Find(_registry, _given, _environment);
            _credentialsResolved = true;
        }

        return _credentials;
    }

    private TransferException ChallengeInvalid(string subject, string why) =>
        TransferException.Permanent("RegistryChallengeInvalid", ModelCacheErrorKind.SecurityError,
            $"The registry {_registry} answered a request for {subject} with an authentication challenge that {why}; no credentials were sent.",
            "Ask the registry's administrator to fix its token realm (it must be https), or remove the registry from -Mirror / $env:MODELCACHE_MIRROR.");

    private TransferException TokenInvalid(string subject, string shown, string why) =>
        TransferException.Permanent("RegistryTokenInvalid", ModelCacheErrorKind.InvalidData,
            $"The token answer of {shown} for the registry {_registry} {why}; it was refused for {subject}.",
            "Ask the registry's administrator to check its token service, or remove the registry from -Mirror / $env:MODELCACHE_MIRROR.");

    private static AuthenticationHeaderValue BasicHeader(RegistryAccount credentials) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials.User + ":" + credentials.Password)));

    private static Dictionary<string, string> Parameters(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (text is null || text.Length > 4096)
        {
            return result;
        }

        foreach (Match m in ChallengeParameter.Matches(text))
        {
            var value = m.Groups[2].Success ? Regex.Replace(m.Groups[2].Value, @"\\(.)", "$1") : m.Groups[3].Value;
            if (!result.ContainsKey(m.Groups[1].Value))
            {
                result[m.Groups[1].Value] = value;
            }
        }

        return result;
    }
}
