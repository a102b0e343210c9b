using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ModelCache.Testing;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Registry;

/// <summary>
/// The token service of the distribution token spec, on a loopback port: <c>GET /token?service=…&amp;scope=…</c> with
/// Basic credentials answers a JWT (ES256, the signing certificate in the x5c header; that certificate is the registry's
/// rootcertbundle) whose claims the registry checks itself: iss, aud (= service), exp/nbf, access[]. The registry never
/// calls it. Counts the requests it answers.
/// </summary>
public sealed class TokenIssuer : IAsyncDisposable
{
    public const string Service = "modelcache-test-registry";
    public const string IssuerName = "modelcache-test-issuer";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _certificate;
    private readonly ConcurrentQueue<(string? Scope, string? Authorization)> _requests = new();
    private readonly ConcurrentQueue<string> _refreshRequests = new();
    private WebApplication _app = null!;
    private int _issued;

    private TokenIssuer()
    {
        var request = new CertificateRequest("CN=" + IssuerName, _key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        _certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    /// <summary>The only account given tokens; anyone else gets a 401.</summary>
    public (string User, string Password) Account { get; set; } = ("puller", "token-pass-Q7");

    /// <summary>Grants access to this repository instead of the asked one (a token answered for the wrong scope).</summary>
    public string? WrongRepository { get; set; }

    /// <summary>The exp claim is now + this; the answer's expires_in says the same.</summary>
    public int ExpiresIn { get; set; } = 300;

    /// <summary>The OAuth2 refresh token (a config.json identitytoken) exchanged by POST for an access token.</summary>
    public string RefreshToken { get; set; } = "refresh-Tk-7Hh2";

    /// <summary>Each POST's full address (path and query), to show the refresh token never travels in it.</summary>
    public IReadOnlyList<string> RefreshRequests => _refreshRequests.ToList();

    public int Issued => _issued;

    public IReadOnlyList<(string? Scope, string? Authorization)> Requests => _requests.ToList();

    public Uri Realm { get; private set; } = null!;

    /// <summary>Writes the registry's rootcertbundle (the signing certificate) into <paramref name="folder"/>.</summary>
    public string WriteRootCertBundle(string folder)
    {
        var path = Path.Combine(folder, "token-root.pem");
        File.WriteAllText(path, _certificate.ExportCertificatePem() + "\n");
        return path;
    }

    public static async Task<TokenIssuer> StartAsync()
    {
        var issuer = new TokenIssuer();
        var (app, address) = await LoopbackApp.StartAsync(IPAddress.Loopback, issuer.HandleAsync);
        issuer._app = app;
        issuer.Realm = new Uri(address, "token");
        return issuer;
    }

    /// <summary>A token for <paramref name="scope"/> signed like any other, for the test's own pushes.</summary>
    public string Mint(string scope, int expiresIn = 300) => Sign("test-pusher", scope, expiresIn);

    private async Task HandleAsync(HttpContext context)
    {
        if (HttpMethods.IsPost(context.Request.Method))
        {
            await RefreshAsync(context);
            return;
        }

        var scope = context.Request.Query["scope"].ToString();
        var authorization = context.Request.Headers.Authorization.ToString();
        _requests.Enqueue((scope, authorization.Length == 0 ? null : authorization));
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(Account.User + ":" + Account.Password));
        if (context.Request.Path != "/token" || context.Request.Query["service"] != Service)
        {
            context.Response.StatusCode = 400;
            return;
        }

        if (authorization != expected)
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"token\"";
            return;
        }

        Interlocked.Increment(ref _issued);
        var token = Sign(Account.User, scope, ExpiresIn);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JObject
        {
            ["token"] = token,
            ["access_token"] = token,
            ["expires_in"] = ExpiresIn,
            ["issued_at"] = DateTimeOffset.UtcNow.ToString("o"),
        }.ToString(Formatting.None));
    }

    /// <summary>The token spec's OAuth2 flow: grant_type=refresh_token in a form body answers access_token.</summary>
    private async Task RefreshAsync(HttpContext context)
    {
        _refreshRequests.Enqueue(context.Request.Path + context.Request.QueryString);
        var form = await context.Request.ReadFormAsync();
        if (form["grant_type"] != "refresh_token" || form["refresh_token"] != RefreshToken || form["service"] != Service
            || context.Request.Headers.Authorization.Count > 0)
        {
            context.Response.StatusCode = 401;
            return;
        }

        Interlocked.Increment(ref _issued);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JObject
        {
            ["access_token"] = Sign("refresh-user", form["scope"].ToString(), ExpiresIn),
            ["expires_in"] = ExpiresIn,
            ["scope"] = form["scope"].ToString(),
        }.ToString(Formatting.None));
    }

    private string Sign(string subject, string scope, int expiresIn)
    {
        // scope = repository:<name>:<action>[,<action>]
        var parts = scope.Split(':');
        var name = WrongRepository ?? (parts.Length == 3 ? parts[1] : string.Empty);
        var actions = parts.Length == 3 ? parts[2].Split(',') : Array.Empty<string>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JObject { ["typ"] = "JWT", ["alg"] = "ES256", ["x5c"] = new JArray(Convert.ToBase64String(_certificate.RawData)) };
        var claims = new JObject
        {
            ["iss"] = IssuerName,
            ["sub"] = subject,
            ["aud"] = Service,
            ["exp"] = now + expiresIn,
            ["nbf"] = now - 10,
            ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = new JArray(new JObject { ["type"] = "repository", ["name"] = name, ["actions"] = new JArray(actions) }),
        };
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToString(Formatting.None))) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToString(Formatting.None)));
        // JWS ES256 is r||s (IEEE P1363), .NET's default for ECDsa.SignData.
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Dispose();
    }
}
