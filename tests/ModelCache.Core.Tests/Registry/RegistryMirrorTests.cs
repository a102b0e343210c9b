using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.Registry;

/// <summary>A registry as a mirror, against a fake registry that can lie: token flow, redirects, hostile answers.</summary>
public sealed class RegistryMirrorTests : IAsyncLifetime
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(200_000, seed: 21);
    private static readonly byte[] OtherBytes = TestModels.RandomBytes(150_000, seed: 22);
    private readonly TempDirectory _temp = new();
    private FakeRegistry _registry = null!;
    private FakeEnvironment _environment = null!;

    public async Task InitializeAsync()
    {
        _registry = await FakeRegistry.StartAsync();
        // Never the machine's own ~/.docker/config.json.
        _environment = new FakeEnvironment(_temp.Combine("home")).With("DOCKER_CONFIG", _temp.Combine("docker"));
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        _temp.Dispose();
    }

    private static ModelDefinition Model(byte[] bytes, string member = "TINY", string fileName = "tiny.onnx", bool exactSize = true) =>
        TestModels.Define(bytes, new Uri("http://127.0.0.1:9/unused/" + fileName), member, fileName, exactSize);

    private async Task<(ModelCacheEntry Entry, List<string> Warnings)> SaveAsync(ModelDefinition model, SourcePlanner planner, CacheStore? store = null)
    {
        var warnings = new List<string>();
        var entry = await new ModelSaver(store ?? new CacheStore(_temp.Combine("cache")), planner).SaveAsync(model, false, null, warnings.Add, CancellationToken.None);
        return (entry, warnings);
    }

    private SourcePlanner Planner(NetworkOptions? network = null, params string[] more) =>
        new(new[] { _registry.Reference() }.Concat(more).ToArray(), mirrorOnly: true, offline: false,
            network ?? new NetworkOptions { RetryCount = 0 }, _environment);

    private static NetworkOptions WithAccount(string user, string password) =>
        new() { RetryCount = 0, MirrorCredential = MirrorCredential.Basic(user, password) };

    [Fact]
    public async Task The_site_server_pulls_an_uncached_model_through_from_a_registry_mirror()
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        _registry.Push(Server.ServerFixture.ModelB.Sha256, Server.ServerFixture.BytesB);
        using var fixture = new Server.ServerFixture(o => o.PullThrough = new ModelCache.Server.PullThroughOptions
        {
            Mirrors = new[] { _registry.Reference() },
            MirrorOnly = true,
            Network = new NetworkOptions { RetryCount = 0 },
            Environment = _environment,
        }, cacheB: false);

        using var response = await fixture.Http.GetAsync("models/b.onnx");

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Server.ServerFixture.BytesB, await response.Content.ReadAsByteArrayAsync());
        Assert.True(File.Exists(fixture.Store.GetModelPath(Server.ServerFixture.ModelB)), "the pulled model is kept in the site cache");
        Assert.Equal(1, _registry.TokensIssued);
        Assert.Contains(_registry.Requests, r => r.Path.EndsWith("/blobs/sha256:" + Server.ServerFixture.ModelB.Sha256, StringComparison.Ordinal) && r.Authorization is not null);
    }

    [Fact]
    public async Task Challenge_then_token_then_blob_and_the_token_is_reused_for_the_next_model()
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        var first = Model(Bytes);
        var second = Model(OtherBytes, "OTHER", "other.onnx");
        _registry.Push(first.Sha256, Bytes);
        _registry.Push(second.Sha256, OtherBytes);
        using var planner = Planner();

        var (entry, _) = await SaveAsync(first, planner);
        var (again, _) = await SaveAsync(second, planner);

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        Assert.Equal(OtherBytes, File.ReadAllBytes(again.Path));
        Assert.Equal(TransferSource.Mirror, entry.Transfer!.Source);
        Assert.Equal(1, _registry.TokensIssued);
        var blobRequests = _registry.Requests.Where(r => r.Path.StartsWith("/v2/models/blobs/sha256:", StringComparison.Ordinal)).ToList();
        // Anonymous, refused, then with the token; the second model goes straight in with the same token.
        Assert.Equal(new string?[] { null, "Bearer issued-1", "Bearer issued-1" }, blobRequests.Select(r => r.Authorization));
        Assert.Contains(_registry.Requests, r => r.Path.StartsWith("/token?service=fake-registry&scope=repository%3Amodels%3Apull", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_expired_token_is_asked_for_again()
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        var clock = DateTimeOffset.UtcNow;
        using var client = new System.Net.Http.HttpClient();
        var auth = new RegistryAuthenticator(client, OciReference.Parse(_registry.Reference()), null, _environment, TimeSpan.FromSeconds(10), () => clock);
        using var refused = new System.Net.Http.HttpResponseMessage(System.Net.HttpStatusCode.Unauthorized);
        refused.Headers.WwwAuthenticate.ParseAdd($"Bearer realm=\"{_registry.BaseAddress}token\",service=\"fake-registry\",scope=\"repository:models:pull\"");

        await auth.AnswerAsync(refused, null, model.Name, CancellationToken.None);
        var token = auth.Current();
        clock += TimeSpan.FromSeconds(_registry.ExpiresIn);

        Assert.Equal("issued-1", token!.Parameter);
        Assert.Null(auth.Current());
        await auth.AnswerAsync(refused, null, model.Name, CancellationToken.None);
        Assert.Equal("issued-2", auth.Current()!.Parameter);
    }

    [Fact]
    public async Task The_token_request_carries_the_credentials_and_the_blob_request_only_the_token()
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        _registry.Account = ("alice", "s3cret");
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner(WithAccount("alice", "s3cret"));

        var (entry, _) = await SaveAsync(model, planner);

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:s3cret"));
        Assert.All(_registry.Requests.Where(r => r.Authorization == basic), r => Assert.StartsWith("/token?", r.Path, StringComparison.Ordinal));
        Assert.Single(_registry.Requests, r => r.Authorization == basic);
    }

    [Fact]
    public async Task A_redirect_to_another_host_is_followed_without_the_authorization()
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        _registry.RedirectBlobs = true;
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner();

        var (entry, _) = await SaveAsync(model, planner);

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        var storage = Assert.Single(_registry.Requests, r => r.Host == "storage");
        Assert.Null(storage.Authorization);
        Assert.Contains(_registry.Requests, r => r.Host == "registry" && r.Authorization == "Bearer issued-1");
    }

    [Fact]
    public async Task A_refused_token_is_an_error_naming_the_registry_not_a_missing_model()
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        _registry.Account = ("alice", "right");
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner(WithAccount("alice", "wrong-password"));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => SaveAsync(model, planner));

        Assert.Equal("RegistryAccessDenied", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.PermissionDenied, error.Kind);
        Assert.Contains(_registry.Reference(), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password", error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(new CacheStore(_temp.Combine("cache")).GetModelPath(model)));
    }

    [Fact]
    public async Task A_forbidden_blob_is_an_error_naming_the_registry()
    {
        _registry.Forbid = true;
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner();

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => SaveAsync(model, planner));

        Assert.Equal("RegistryAccessDenied", error.ErrorId);
        Assert.Contains("HTTP 403", error.Message, StringComparison.Ordinal);
        Assert.Contains(_registry.Reference(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_is_reported_for_the_registry_when_the_next_mirror_supplies_the_model()
    {
        _registry.Mode = RegistryAuthMode.Basic;
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        var folder = Directory.CreateDirectory(_temp.Combine("folder")).FullName;
        File.WriteAllBytes(Path.Combine(folder, model.FileName), Bytes);
        using var planner = Planner(null, folder);

        var (entry, warnings) = await SaveAsync(model, planner);

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        Assert.Contains(warnings, w => w.Contains(_registry.Reference(), StringComparison.Ordinal) && w.Contains("user name and password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Basic_credentials_answer_a_basic_challenge_on_a_loopback_registry()
    {
        _registry.Mode = RegistryAuthMode.Basic;
        _registry.Account = ("bob", "pw");
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner(WithAccount("bob", "pw"));

        var (entry, _) = await SaveAsync(model, planner);

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        Assert.Equal(0, _registry.TokensIssued);
    }

    [Fact]
    public async Task A_model_the_registry_lacks_falls_through_to_the_next_mirror()
    {
        var model = Model(Bytes);
        var folder = Directory.CreateDirectory(_temp.Combine("folder")).FullName;
        File.WriteAllBytes(Path.Combine(folder, model.FileName), Bytes);
        using var planner = Planner(null, folder);

        var (entry, warnings) = await SaveAsync(model, planner);

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        Assert.Contains(warnings, w => w.Contains("sha256:" + model.Sha256, StringComparison.Ordinal) || w.Contains("HTTP 404", StringComparison.Ordinal));
        Assert.Contains(_registry.Requests, r => r.Path == "/v2/models/blobs/sha256:" + model.Sha256);
    }

    [Fact]
    public async Task A_blob_whose_bytes_do_not_hash_to_its_digest_saves_nothing()
    {
        var model = Model(Bytes, exactSize: false);
        _registry.Push(model.Sha256, OtherBytes);
        var store = new CacheStore(_temp.Combine("cache"));
        using var planner = Planner();

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => SaveAsync(model, planner, store));

        Assert.Equal("HashMismatch", error.ErrorId);
        Assert.False(File.Exists(store.GetModelPath(model)));
    }

    [Theory]
    [InlineData("length")]
    [InlineData("endless")]
    [InlineData("not-json")]
    [InlineData("no-token")]
    [InlineData("header-injection")]
    public async Task A_hostile_token_answer_is_refused(string how)
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        _registry.TokenAnswer = how switch
        {
            "length" => async c => { c.Response.ContentLength = 10_000_000; await c.Response.WriteAsync("{\"token\":\"x\"}"); },
            "endless" => async c => { var chunk = Encoding.ASCII.GetBytes(new string(' ', 8192)); for (var i = 0; i < 64 && !c.RequestAborted.IsCancellationRequested; i++) { await c.Response.Body.WriteAsync(chunk); } },
            "not-json" => c => c.Response.WriteAsync("<html>token</html>"),
            "no-token" => c => c.Response.WriteAsync("{\"token\":42}"),
            _ => c => c.Response.WriteAsync("{\"token\":\"abc\\r\\nX-Evil: 1\"}"),
        };
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner();

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => SaveAsync(model, planner));

        Assert.Equal("RegistryTokenInvalid", error.ErrorId);
        Assert.DoesNotContain(_registry.Requests, r => r.Authorization?.StartsWith("Bearer", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task A_plain_http_realm_off_this_machine_gets_no_request()
    {
        var model = Model(Bytes);
        using var client = new System.Net.Http.HttpClient();
        var auth = new RegistryAuthenticator(client, OciReference.Parse(_registry.Reference()), MirrorCredential.Basic("a", "b"), _environment, TimeSpan.FromSeconds(5));
        using var refused = new System.Net.Http.HttpResponseMessage(System.Net.HttpStatusCode.Unauthorized);
        refused.Headers.WwwAuthenticate.ParseAdd("Bearer realm=\"http://auth.example.com/token\",service=\"x\"");

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => auth.AnswerAsync(refused, null, model.Name, CancellationToken.None));

        Assert.Equal("RegistryChallengeInvalid", error.ErrorId);
        Assert.Equal(0, auth.TokenRequests);
    }

    [Fact]
    public async Task Docker_config_auths_supply_the_credentials()
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        _registry.Account = ("carol", "pw:with:colons");
        Directory.CreateDirectory(_temp.Combine("docker"));
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("carol:pw:with:colons"));
        File.WriteAllText(_temp.Combine("docker", "config.json"), $"{{\"auths\":{{\"127.0.0.1:{_registry.BaseAddress.Port}\":{{\"auth\":\"{auth}\"}}}}}}");
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner();

        var (entry, _) = await SaveAsync(model, planner);

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
    }

    [Theory]
    [InlineData("credHelpers")]
    [InlineData("credsStore")]
    public async Task A_credential_helper_for_the_registry_is_refused_by_name(string kind)
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        Directory.CreateDirectory(_temp.Combine("docker"));
        var host = "127.0.0.1:" + _registry.BaseAddress.Port;
        File.WriteAllText(_temp.Combine("docker", "config.json"), kind == "credHelpers"
            ? $"{{\"credHelpers\":{{\"{host}\":\"secretservice\"}}}}"
            : $"{{\"auths\":{{\"{host}\":{{}}}},\"credsStore\":\"secretservice\"}}");
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner();

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => SaveAsync(model, planner));

        Assert.Equal("RegistryCredentialHelperRefused", error.ErrorId);
        Assert.Contains("docker-credential-secretservice", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _registry.TokensIssued);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("huge")]
    [InlineData("bad-auth")]
    public async Task A_broken_docker_config_is_named_and_nothing_is_sent(string how)
    {
        _registry.Mode = RegistryAuthMode.Bearer;
        Directory.CreateDirectory(_temp.Combine("docker"));
        var host = "127.0.0.1:" + _registry.BaseAddress.Port;
        File.WriteAllText(_temp.Combine("docker", "config.json"), how switch
        {
            "not json" => "{\"auths\":",
            "huge" => "{\"x\":\"" + new string('a', 2 * 1024 * 1024) + "\"}",
            _ => $"{{\"auths\":{{\"{host}\":{{\"auth\":\"!!notbase64\"}}}}}}",
        });
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner();

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => SaveAsync(model, planner));

        Assert.Equal("RegistryConfigInvalid", error.ErrorId);
        Assert.Equal(0, _registry.TokensIssued);
    }

    [Fact]
    public async Task An_anonymous_registry_needs_no_credentials_even_when_a_helper_is_configured()
    {
        Directory.CreateDirectory(_temp.Combine("docker"));
        File.WriteAllText(_temp.Combine("docker", "config.json"), "{\"credsStore\":\"desktop\",\"credHelpers\":{\"127.0.0.1:" + _registry.BaseAddress.Port + "\":\"x\"}}");
        var model = Model(Bytes);
        _registry.Push(model.Sha256, Bytes);
        using var planner = Planner();

        var (entry, _) = await SaveAsync(model, planner);

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        Assert.All(_registry.Requests, r => Assert.Null(r.Authorization));
    }
}
