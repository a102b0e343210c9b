using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.Registry;

/// <summary>
/// Against the real CNCF distribution registry: TLS with a test CA trusted only through SSL_CERT_FILE, htpasswd basic
/// auth behind it, and token auth with a token issuer the test runs (the registry checks the JWTs itself).
/// </summary>
public sealed class RegistryAuthTests : IDisposable
{
    private const string Repository = "team/models";
    private const string User = "alice";
    private const string Password = "hunter2-Secret-9f3k";
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string RequireRegistry()
    {
        var binary = DistributionRegistry.Binary();
        if (binary is null || ExternalTool.Find("htpasswd") is null)
        {
            // On CI both are dependencies (.ci/run installs them): their absence is a failure, not a skip.
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "docker-registry or htpasswd is not installed (apt-get install docker-registry apache2-utils).");
            Skip.If(true, "docker-registry or htpasswd is not installed (apt-get install docker-registry apache2-utils).");
        }

        return binary!;
    }

    private static ModelDefinition Model(byte[] bytes, string member) =>
        TestModels.Define(bytes, new Uri("http://127.0.0.1:9/" + member.ToLowerInvariant() + ".onnx"), member, member.ToLowerInvariant() + ".onnx");

    private FakeEnvironment Environment0(string name) =>
        // Never the machine's own ~/.docker/config.json.
        new FakeEnvironment(_temp.Combine(name + "-home")).With("DOCKER_CONFIG", _temp.Combine(name + "-docker"));

    private async Task<DistributionRegistry> StartTlsHtpasswdAsync(TestPki pki)
    {
        var htpasswd = _temp.Combine("htpasswd");
        ExternalTool.Run("htpasswd", "-B", "-b", "-c", htpasswd, User, Password);
        var registry = await DistributionRegistry.StartAsync(RequireRegistry(), new RegistryConfig
        {
            CertificateFile = pki.ServerCertificateFile,
            KeyFile = pki.ServerKeyFile,
            HtpasswdFile = htpasswd,
            TrustedCertificate = pki.Server,
        });
        registry.PushAuthorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(User + ":" + Password)));
        return registry;
    }

    private async Task<(ModelCacheEntry? Entry, Exception? Failure, List<string> Said)> SaveAsync(ModelDefinition model, string reference, FakeEnvironment environment,
        MirrorCredential? credential = null, string cache = "cache", Func<DateTimeOffset>? clock = null, SourcePlanner? planner = null)
    {
        var said = new List<string>();
        var own = planner is null;
        planner ??= new SourcePlanner(new[] { reference }, mirrorOnly: true, offline: false,
            new NetworkOptions { RetryCount = 0, MirrorCredential = credential, Clock = clock }, environment);
        try
        {
            var entry = await new ModelSaver(new CacheStore(_temp.Combine(cache)), planner).SaveAsync(model, false, new Recorder(said), said.Add, CancellationToken.None);
            return (entry, null, said);
        }
        catch (ModelCacheException ex)
        {
            said.Add(ex.ToString());
            said.Add(ex.RecommendedAction ?? string.Empty);
            return (null, ex, said);
        }
        finally
        {
            if (own)
            {
                planner.Dispose();
            }
        }
    }

    private static string ErrorId(Exception? ex) => ex switch
    {
        ModelCacheException m => m.ErrorId,
        null => "(none)",
        _ => ex.GetType().Name + ": " + ex.Message,
    };

    [SkippableFact]
    public async Task Htpasswd_behind_TLS_with_a_test_CA_pulls_with_Credential_with_the_environment_and_with_a_docker_config()
    {
        var pki = TestPki.Create(_temp.Combine("pki"));
        await using var registry = await StartTlsHtpasswdAsync(pki);
        var bytes = TestModels.RandomBytes(300_000, seed: 41);
        await registry.PushBlobAsync(Repository, bytes);
        var reference = $"oci://127.0.0.1:{registry.Port}/{Repository}";

        // 1. -Credential.
        var viaCredential = await SaveAsync(Model(bytes, "TLSA"), reference, Environment0("a").With("SSL_CERT_FILE", pki.CaFile), MirrorCredential.Basic(User, Password), "cache-a");
        // 2. MODELCACHE_REGISTRY_USER / _PASSWORD.
        var viaVariables = await SaveAsync(Model(bytes, "TLSB"), reference, Environment0("b").With("SSL_CERT_FILE", pki.CaFile)
            .With("MODELCACHE_REGISTRY_USER", User).With("MODELCACHE_REGISTRY_PASSWORD", Password), cache: "cache-b");
        // 3. A Docker-style config.json in $DOCKER_CONFIG, keyed host:port.
        var environment = Environment0("c").With("SSL_CERT_FILE", pki.CaFile);
        Directory.CreateDirectory(_temp.Combine("c-docker"));
        File.WriteAllText(Path.Combine(_temp.Combine("c-docker"), "config.json"),
            new Newtonsoft.Json.Linq.JObject { ["auths"] = new Newtonsoft.Json.Linq.JObject { [$"127.0.0.1:{registry.Port}"] = new Newtonsoft.Json.Linq.JObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(User + ":" + Password)) } } }.ToString());
        var viaConfig = await SaveAsync(Model(bytes, "TLSC"), reference, environment, cache: "cache-c");

        foreach (var (entry, failure, said) in new[] { viaCredential, viaVariables, viaConfig })
        {
            Assert.True(failure is null, ErrorId(failure) + " " + string.Join("\n", said));
            Assert.Equal(bytes, File.ReadAllBytes(entry!.Path));
            Assert.Equal(reference + "@sha256:" + TestModels.Sha256Of(bytes), entry.SourceUrl);
        }

        // Spoken to over TLS (the registry's access log shows the blob served; it only listens for TLS).
        Assert.True(await registry.WaitForLogAsync($"GET /v2/{Repository}/blobs/sha256:{TestModels.Sha256Of(bytes)}"), registry.Log);
    }

    [SkippableFact]
    public async Task A_wrong_password_is_RegistryAccessDenied_and_the_password_is_in_no_message_warning_or_progress()
    {
        var pki = TestPki.Create(_temp.Combine("pki"));
        await using var registry = await StartTlsHtpasswdAsync(pki);
        var bytes = TestModels.RandomBytes(100_000, seed: 42);
        await registry.PushBlobAsync(Repository, bytes);
        const string wrong = "Wrong-Pass-Zx81q";

        var (entry, failure, said) = await SaveAsync(Model(bytes, "WRONG"), $"oci://127.0.0.1:{registry.Port}/{Repository}",
            Environment0("w").With("SSL_CERT_FILE", pki.CaFile), MirrorCredential.Basic(User, wrong));

        Assert.Null(entry);
        Assert.Equal("RegistryAccessDenied", ErrorId(failure));
        var text = string.Join("\n", said);
        Assert.Contains($"127.0.0.1:{registry.Port}", text, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(User + ":" + wrong)), text, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp.Combine("cache")) && Directory.EnumerateFiles(_temp.Combine("cache"), "*.onnx", SearchOption.AllDirectories).Any());
    }

    [SkippableFact]
    public async Task A_registry_whose_CA_is_not_trusted_is_RegistryCertificateInvalid_nothing_is_sent_and_nothing_saved()
    {
        var pki = TestPki.Create(_temp.Combine("pki"));
        var other = TestPki.Create(_temp.Combine("other"), "Some Other CA");
        await using var registry = await StartTlsHtpasswdAsync(pki);
        var bytes = TestModels.RandomBytes(100_000, seed: 43);
        await registry.PushBlobAsync(Repository, bytes);
        var reference = $"oci://127.0.0.1:{registry.Port}/{Repository}";

        // SSL_CERT_FILE unset, then naming a bundle without the registry's CA.
        var unset = await SaveAsync(Model(bytes, "UNTRUSTED"), reference, Environment0("u"), MirrorCredential.Basic(User, Password));
        var wrongBundle = await SaveAsync(Model(bytes, "UNTRUSTED"), reference, Environment0("v").With("SSL_CERT_FILE", other.CaFile), MirrorCredential.Basic(User, Password));

        foreach (var (entry, failure, said) in new[] { unset, wrongBundle })
        {
            Assert.Null(entry);
            Assert.Equal("RegistryCertificateInvalid", ErrorId(failure));
            Assert.DoesNotContain(Password, string.Join("\n", said), StringComparison.Ordinal);
        }

        Assert.Contains("SSL_CERT_FILE", ((ModelCacheException)unset.Failure!).RecommendedAction, StringComparison.Ordinal);
        Assert.Contains(other.CaFile, wrongBundle.Failure!.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp.Combine("cache")) && Directory.EnumerateFiles(_temp.Combine("cache"), "*", SearchOption.AllDirectories).Any(f => f.EndsWith(".onnx", StringComparison.Ordinal)));
        // No HTTP request ever reached it: the handshake failed first.
        Assert.DoesNotContain($"GET /v2/{Repository}/blobs/", registry.Log, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_certificate_for_another_name_is_refused_even_when_its_CA_is_trusted()
    {
        var pki = TestPki.Create(_temp.Combine("pki"), serverName: "registry.example.test");
        await using var registry = await StartTlsHtpasswdAsync(pki);
        var bytes = TestModels.RandomBytes(40_000, seed: 49);
        await registry.PushBlobAsync(Repository, bytes);

        var (entry, failure, _) = await SaveAsync(Model(bytes, "NAME"), $"oci://127.0.0.1:{registry.Port}/{Repository}",
            Environment0("n").With("SSL_CERT_FILE", pki.CaFile), MirrorCredential.Basic(User, Password));

        Assert.Null(entry);
        Assert.Equal("RegistryCertificateInvalid", ErrorId(failure));
        Assert.Contains("not issued for this host name", failure!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain($"GET /v2/{Repository}/blobs/", registry.Log, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_transport_probe_finds_TLS_on_a_loopback_registry_and_plain_HTTP_on_another()
    {
        var pki = TestPki.Create(_temp.Combine("pki"));
        await using var tls = await StartTlsHtpasswdAsync(pki);
        await using var plain = await DistributionRegistry.StartAsync(RequireRegistry());
        var environment = Environment0("p").With("SSL_CERT_FILE", pki.CaFile);
        using var client = SourcePlanner.CreateClient(new NetworkOptions(), environment);

        var overTls = await RegistryTransport.ResolveAsync(client, OciReference.Parse($"oci://127.0.0.1:{tls.Port}/models"), environment, TimeSpan.FromSeconds(10), CancellationToken.None);
        var overHttp = await RegistryTransport.ResolveAsync(client, OciReference.Parse($"oci://127.0.0.1:{plain.Port}/models"), environment, TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.Equal($"https://127.0.0.1:{tls.Port}/", overTls!.RegistryUri.ToString());
        Assert.Equal($"http://127.0.0.1:{plain.Port}/", overHttp!.RegistryUri.ToString());
    }

    private async Task<(TokenIssuer Issuer, DistributionRegistry Registry)> StartTokenRegistryAsync(TestPki pki)
    {
        var binary = RequireRegistry();
        var issuer = await TokenIssuer.StartAsync();
        var registry = await DistributionRegistry.StartAsync(binary, new RegistryConfig
        {
            CertificateFile = pki.ServerCertificateFile,
            KeyFile = pki.ServerKeyFile,
            TrustedCertificate = pki.Server,
            Token = (issuer.Realm.ToString(), TokenIssuer.Service, TokenIssuer.IssuerName, issuer.WriteRootCertBundle(_temp.Path)),
        });
        registry.PushAuthorization = new AuthenticationHeaderValue("Bearer", issuer.Mint($"repository:{Repository}:pull,push"));
        return (issuer, registry);
    }

    [SkippableFact]
    public async Task Token_auth_anonymous_is_denied_credentials_get_a_token_it_is_reused_and_renewed_when_it_expires()
    {
        var pki = TestPki.Create(_temp.Combine("pki"));
        var (issuer, registry) = await StartTokenRegistryAsync(pki);
        await using var _ = issuer;
        await using var __ = registry;
        var bytes = new[] { TestModels.RandomBytes(120_000, seed: 44), TestModels.RandomBytes(90_000, seed: 45), TestModels.RandomBytes(80_000, seed: 46) };
        foreach (var b in bytes)
        {
            await registry.PushBlobAsync(Repository, b);
        }

        var reference = $"oci://127.0.0.1:{registry.Port}/{Repository}";
        var environment = Environment0("t").With("SSL_CERT_FILE", pki.CaFile);

        // Anonymous: the issuer refuses a token without the account.
        var anonymous = await SaveAsync(Model(bytes[0], "ANON"), reference, environment, cache: "cache-anon");
        Assert.Equal("RegistryAccessDenied", ErrorId(anonymous.Failure));
        Assert.Equal(0, issuer.Issued);

        var now = DateTimeOffset.UtcNow;
        using var planner = new SourcePlanner(new[] { reference }, true, false,
            new NetworkOptions { RetryCount = 0, MirrorCredential = MirrorCredential.Basic(issuer.Account.User, issuer.Account.Password), Clock = () => now }, environment);
        var first = await SaveAsync(Model(bytes[0], "TOKA"), reference, environment, planner: planner);
        var second = await SaveAsync(Model(bytes[1], "TOKB"), reference, environment, planner: planner);
        Assert.True(first.Failure is null && second.Failure is null, ErrorId(first.Failure ?? second.Failure) + string.Join("\n", first.Said.Concat(second.Said)));
        Assert.Equal(1, issuer.Issued);

        // Past its lifetime the token is asked for again (the registry would still take it within its 60 s leeway).
        now += TimeSpan.FromSeconds(issuer.ExpiresIn + 1);
        var third = await SaveAsync(Model(bytes[2], "TOKC"), reference, environment, planner: planner);
        Assert.True(third.Failure is null, ErrorId(third.Failure) + string.Join("\n", third.Said));
        Assert.Equal(2, issuer.Issued);
        Assert.All(issuer.Requests.Where(r => r.Authorization is not null), r => Assert.Equal($"repository:{Repository}:pull", r.Scope));
        Assert.Equal(bytes[2], File.ReadAllBytes(third.Entry!.Path));
    }

    [SkippableFact]
    public async Task A_config_json_identitytoken_is_exchanged_by_the_OAuth2_refresh_flow()
    {
        var pki = TestPki.Create(_temp.Combine("pki"));
        var (issuer, registry) = await StartTokenRegistryAsync(pki);
        await using var _ = issuer;
        await using var __ = registry;
        var bytes = TestModels.RandomBytes(60_000, seed: 48);
        await registry.PushBlobAsync(Repository, bytes);
        var environment = Environment0("i").With("SSL_CERT_FILE", pki.CaFile);
        Directory.CreateDirectory(_temp.Combine("i-docker"));
        File.WriteAllText(Path.Combine(_temp.Combine("i-docker"), "config.json"),
            new Newtonsoft.Json.Linq.JObject { ["auths"] = new Newtonsoft.Json.Linq.JObject { [$"127.0.0.1:{registry.Port}"] = new Newtonsoft.Json.Linq.JObject { ["auth"] = "", ["identitytoken"] = issuer.RefreshToken } } }.ToString());

        var (entry, failure, said) = await SaveAsync(Model(bytes, "REFRESH"), $"oci://127.0.0.1:{registry.Port}/{Repository}", environment);

        Assert.True(failure is null, ErrorId(failure) + string.Join("\n", said));
        Assert.Equal(bytes, File.ReadAllBytes(entry!.Path));
        Assert.Equal(1, issuer.Issued);
        Assert.Equal(new[] { "/token" }, issuer.RefreshRequests);
        Assert.DoesNotContain(issuer.RefreshToken, string.Join("\n", said), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_token_answered_for_the_wrong_scope_is_refused_by_the_registry_and_named()
    {
        var pki = TestPki.Create(_temp.Combine("pki"));
        var (issuer, registry) = await StartTokenRegistryAsync(pki);
        await using var _ = issuer;
        await using var __ = registry;
        var bytes = TestModels.RandomBytes(50_000, seed: 47);
        await registry.PushBlobAsync(Repository, bytes);
        issuer.WrongRepository = "someone/else";

        var (entry, failure, said) = await SaveAsync(Model(bytes, "SCOPE"), $"oci://127.0.0.1:{registry.Port}/{Repository}",
            Environment0("s").With("SSL_CERT_FILE", pki.CaFile), MirrorCredential.Basic(issuer.Account.User, issuer.Account.Password));

        Assert.Null(entry);
        Assert.Equal("RegistryAccessDenied", ErrorId(failure));
        Assert.Equal(1, issuer.Issued);
        Assert.DoesNotContain(issuer.Account.Password, string.Join("\n", said), StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", string.Join("\n", said), StringComparison.Ordinal);
    }

    private sealed class Recorder : IProgress<TransferProgress>
    {
        private readonly List<string> _said;

        public Recorder(List<string> said) => _said = said;

        public void Report(TransferProgress value)
        {
            lock (_said)
            {
                _said.Add($"{value.Name} {value.Phase} {value.Location}");
            }
        }
    }
}
