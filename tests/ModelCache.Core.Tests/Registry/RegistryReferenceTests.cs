using System;
using ModelCache.Errors;
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
