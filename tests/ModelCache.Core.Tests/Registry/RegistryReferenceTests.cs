using System;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.Registry;

public class RegistryReferenceTests
{
    [Theory]
    [InlineData("oci://registry.example.com/models", "https://registry.example.com/", "models", "oci://registry.example.com/models")]
    [InlineData("oci://registry.example.com:8443/team/models", "https://registry.example.com:8443/", "team/models", "oci://registry.example.com:8443/team/models")]
    [InlineData("OCI://Registry.Example.com/a.b_c__d-e/f", "https://registry.example.com/", "a.b_c__d-e/f", "oci://registry.example.com/a.b_c__d-e/f")]
    [InlineData("oci://127.0.0.1:5000/models/", "http://127.0.0.1:5000/", "models", "oci://127.0.0.1:5000/models")]
    [InlineData("oci://127.8.9.10:5000/models", "http://127.8.9.10:5000/", "models", "oci://127.8.9.10:5000/models")]
    [InlineData("oci://localhost/models", "http://localhost/", "models", "oci://localhost/models")]
    [InlineData("oci://[::1]:5000/models", "http://[::1]:5000/", "models", "oci://[::1]:5000/models")]
    public void A_registry_reference_names_host_port_and_repository(string text, string registry, string repository, string shown)
    {
        var reference = OciReference.Parse(text);

        Assert.Equal(new Uri(registry), reference.RegistryUri);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(shown, reference.ToString());
        Assert.Equal(new Uri(registry + "v2/" + repository + "/blobs/sha256:" + new string('a', 64)), reference.BlobUri(new string('A', 64)));
    }

    [Theory]
    [InlineData("oci://10.0.0.1:5000/models")]
    [InlineData("oci://192.168.1.5/models")]
    [InlineData("oci://localhost.example.com/models")]
    [InlineData("oci://127.0.0.1.nip.io/models")]
    [InlineData("oci://[::2]/models")]
    public void Only_a_loopback_registry_is_spoken_to_without_tls(string text)
    {
        var reference = OciReference.Parse(text);

        Assert.Equal("https", reference.RegistryUri.Scheme);
        Assert.False(reference.IsLoopback);
    }

    [Theory]
    [InlineData("oci://registry.example.com")]
    [InlineData("oci://registry.example.com/")]
    [InlineData("oci:///models")]
    [InlineData("oci://registry.example.com/Models")]
    [InlineData("oci://registry.example.com/models:latest")]
    [InlineData("oci://registry.example.com/models@sha256:0000")]
    [InlineData("oci://registry.example.com/models?x=1")]
    [InlineData("oci://registry.example.com/models#f")]
    [InlineData("oci://registry.example.com/-models")]
    [InlineData("oci://registry.example.com/models//x")]
    [InlineData("oci://registry.example.com/a%20b")]
    [InlineData("oci:registry.example.com/models")]
    public void A_malformed_reference_is_refused(string text)
    {
        var error = Assert.Throws<ModelCacheException>(() => OciReference.Parse(text));

        Assert.Equal("InvalidRegistryReference", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidArgument, error.Kind);
    }

    [Fact]
    public void A_password_in_a_reference_is_refused_and_never_shown()
    {
        var error = Assert.Throws<ModelCacheException>(() => OciReference.Parse("oci://alice:s3cret@registry.example.com/models"));

        Assert.Equal("InvalidRegistryReference", error.ErrorId);
        Assert.DoesNotContain("s3cret", error.Message + error.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void A_planner_refuses_a_malformed_registry_mirror_up_front()
    {
        var error = Assert.Throws<ModelCacheException>(() => new SourcePlanner(new[] { "oci://registry.example.com/" }, false, false));

        Assert.Equal("InvalidRegistryReference", error.ErrorId);
    }

    [Fact]
    public void The_site_server_check_refuses_a_malformed_registry_mirror_and_passes_the_rest()
    {
        Operations.SourcePolicy.CheckRegistryMirrors(new[] { "oci://127.0.0.1:5000/models", "https://mirror.example.com/onnx", "/srv/models" });

        var error = Assert.Throws<ModelCacheException>(() => Operations.SourcePolicy.CheckRegistryMirrors(new[] { "/srv/models", "oci://registry.example.com/Models" }));
        Assert.Equal("InvalidRegistryReference", error.ErrorId);
    }

    [Fact]
    public void Save_model_sources_keep_a_registry_mirror_as_a_reference_not_a_path()
    {
        var environment = new FakeEnvironment("/home/test").With("MODELCACHE_MIRROR", "oci://Registry.Example.com:443/models;site-models");

        var policy = Operations.SourcePolicy.Resolve(environment, null, p => "/resolved/" + p, null, null, null);

        Assert.Equal(new[] { "oci://registry.example.com/models", "/resolved/site-models" }, policy.Mirrors);
    }

    [Fact]
    public void A_registry_mirror_is_not_taken_for_a_missing_folder()
    {
        using var planner = new SourcePlanner(new[] { "oci://registry.example.com/models" }, false, false);

        Assert.Empty(planner.MissingMirrorFolders());
    }
}

/// <summary>The transport rule (plain HTTP only for loopback or listed registries), the sign-in refusal over plain HTTP and SSL_CERT_FILE checks.</summary>
public sealed class RegistryTransportRuleTests
{
    [Theory]
    [InlineData("oci://127.0.0.1:5000/models", null, true)]
    [InlineData("oci://localhost/models", null, true)]
    [InlineData("oci://[::1]:5000/models", null, true)]
    [InlineData("oci://registry.lan:5000/models", null, false)]
    [InlineData("oci://registry.lan:5000/models", "registry.lan:5000", true)]
    [InlineData("oci://registry.lan:5000/models", "other.lan, registry.lan", true)]
    [InlineData("oci://registry.lan:5000/models", "registry.lan:5001", false)]
    [InlineData("oci://registry.lan:5000/models", "registry.lan.evil:5000", false)]
    [InlineData("oci://registry.lan/models", "REGISTRY.LAN:443", true)]
    public void Plain_HTTP_is_allowed_only_for_loopback_and_listed_registries(string reference, string? listed, bool allowed)
    {
        var environment = new FakeEnvironment("/home/test");
        if (listed is not null)
        {
            environment.With(RegistryTransport.InsecureRegistriesVariable, listed);
        }

        Assert.Equal(allowed, RegistryTransport.MayBePlainHttp(OciReference.Parse(reference), environment));
    }

    [Fact]
    public async Task A_plain_HTTP_registry_off_this_machine_gets_no_credentials_or_token()
    {
        using var client = new System.Net.Http.HttpClient(new RefuseAll());
        var registry = OciReference.Parse("oci://registry.lan:5000/models").WithPlainHttp(true);
        var auth = new RegistryAuthenticator(client, registry, MirrorCredential.Basic("user", "pass-Pl41n"), new FakeEnvironment("/home/test"), TimeSpan.FromSeconds(5)) { PlainHttp = true };
        foreach (var challenge in new[] { "Basic realm=\"r\"", "Bearer realm=\"https://auth.example.com/token\",service=\"s\"" })
        {
            using var refused = new System.Net.Http.HttpResponseMessage(System.Net.HttpStatusCode.Unauthorized);
            refused.Headers.WwwAuthenticate.ParseAdd(challenge);

            var error = await Assert.ThrowsAsync<TransferException>(() => auth.AnswerAsync(refused, null, "M", System.Threading.CancellationToken.None));

            Assert.Equal("RegistryInsecureSignIn", error.ErrorId);
            Assert.DoesNotContain("pass-Pl41n", error.Message + error.RecommendedAction, StringComparison.Ordinal);
        }

        Assert.Null(auth.Current());
        Assert.Equal(0, auth.TokenRequests);
    }

    [Theory]
    [InlineData("garbage", "holds no PEM certificate")]
    [InlineData("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "not a valid PEM certificate")]
    [InlineData("-----BEGIN CERTIFICATE-----\nMIIB\n", "no END line")]
    [InlineData(null, "Could not find")]
    public void A_broken_SSL_CERT_FILE_is_CertificateBundleInvalid(string? content, string why)
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("bundle.pem");
        if (content is not null)
        {
            System.IO.File.WriteAllText(path, content);
        }

        var environment = new FakeEnvironment(temp.Path).With("SSL_CERT_FILE", path);

        var error = Assert.Throws<ModelCacheException>(() => SourcePlanner.CreateClient(new NetworkOptions(), environment));

        Assert.Equal("CertificateBundleInvalid", error.ErrorId);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_FIFO_as_SSL_CERT_FILE_is_refused_without_blocking()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        using var temp = new TempDirectory();
        var path = temp.Combine("fifo.pem");
        SpecialFiles.MakeFifo(path);

        var error = SpecialFiles.Bounded(temp.Path, () => Assert.Throws<ModelCacheException>(() => SourcePlanner.CreateClient(new NetworkOptions(), new FakeEnvironment(temp.Path).With("SSL_CERT_FILE", path))));

        Assert.Equal("CertificateBundleInvalid", error.ErrorId);
    }

    private sealed class RefuseAll : System.Net.Http.HttpMessageHandler
    {
        protected override Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, System.Threading.CancellationToken cancellationToken) =>
            throw new InvalidOperationException("No request may be sent: " + request.RequestUri);
    }
}
