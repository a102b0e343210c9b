using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using ModelCache.Errors;
using ModelCache.Registry;

namespace ModelCache.Core.Tests.Registry;

/// <summary>The shared OCI types: artifact references, canonical manifests, and the strict reader of a registry's manifest.</summary>
public class OciManifestTests
{
    private static readonly string Hex = new('a', 64);
    private static readonly string Digest = "sha256:" + Hex;

    [Theory]
    [InlineData("oci://registry.example.com/models:v1", "https://registry.example.com/", "models", "v1", null)]
    [InlineData("oci://registry.example.com:8443/team/models:2026.12_a-b", "https://registry.example.com:8443/", "team/models", "2026.12_a-b", null)]
    [InlineData("oci://127.0.0.1:5000/models:latest", "http://127.0.0.1:5000/", "models", "latest", null)]
    [InlineData("oci://[::1]:5000/team/models:_x", "http://[::1]:5000/", "team/models", "_x", null)]
    [InlineData("oci://127.0.0.1:5000/models@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "http://127.0.0.1:5000/", "models", null, "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void An_artifact_reference_names_registry_repository_and_tag_or_digest(string text, string registry, string repository, string? tag, string? digest)
    {
        var reference = OciArtifactReference.Parse(text);

        Assert.Equal(new Uri(registry), reference.Registry.RegistryUri);
        Assert.Equal(repository, reference.Registry.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest);
        Assert.Equal(digest ?? tag, reference.ManifestReference);
        Assert.Equal(OciArtifactReference.Parse(reference.ToString()).ToString(), reference.ToString());
    }

    [Theory]
    [InlineData("oci://registry.example.com/models")]
    [InlineData("oci://registry.example.com/models:")]
    [InlineData("oci://registry.example.com/models:.hidden")]
    [InlineData("oci://registry.example.com/models:-x")]
    [InlineData("oci://registry.example.com/models:a/b")]
    [InlineData("oci://registry.example.com/Models:v1")]
    [InlineData("oci://registry.example.com/models@sha256:ABC")]
    [InlineData("oci://registry.example.com/models@sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("oci://registry.example.com/models@sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("oci://registry.example.com:v1")]
    [InlineData("https://registry.example.com/models:v1")]
    [InlineData("oci:///models:v1")]
    public void A_malformed_artifact_reference_is_refused(string text)
    {
        var ex = Assert.Throws<ModelCacheException>(() => OciArtifactReference.Parse(text));

        Assert.Equal("InvalidArtifactReference", ex.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void A_tag_of_128_characters_is_a_tag_and_129_is_not()
    {
        Assert.Equal(128, OciArtifactReference.Parse("oci://r.example/m:" + new string('t', 128)).Tag!.Length);
        Assert.Throws<ModelCacheException>(() => OciArtifactReference.Parse("oci://r.example/m:" + new string('t', 129)));
    }

    [Fact]
    public void Credentials_in_an_artifact_reference_are_refused_and_never_echoed()
    {
        var ex = Assert.Throws<ModelCacheException>(() => OciArtifactReference.Parse("oci://user:s3cret@registry.example.com/models:v1"));

        Assert.Equal("InvalidArtifactReference", ex.ErrorId);
        Assert.DoesNotContain("s3cret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_is_written_as_the_same_canonical_bytes_whatever_the_annotation_order()
    {
        var a = Sample(new Dictionary<string, string> { ["z"] = "1", ["a"] = "2" });
        var b = Sample(new Dictionary<string, string> { ["a"] = "2", ["z"] = "1" });

        Assert.Equal(a.ToBytes(), b.ToBytes());
        var text = Encoding.UTF8.GetString(a.ToBytes());
        Assert.StartsWith("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"artifactType\":\"application/vnd.modelcache.bundle.v1\",\"config\":{", text, StringComparison.Ordinal);
        Assert.Contains("\"annotations\":{\"io.modelcache.model.name\":\"Family/Member\",\"org.opencontainers.image.title\":\"m.onnx\"}", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" ", text, StringComparison.Ordinal);
        Assert.Matches("^sha256:[a-f0-9]{64}$", OciManifest.DigestOf(a.ToBytes()));
    }

    [Fact]
    public void A_written_manifest_reads_back_as_a_bundle()
    {
        var manifest = Sample(null);

        var read = OciManifest.ParseBundle(manifest.ToBytes(), null, "test");

        Assert.Equal(manifest.ToBytes(), read.ToBytes());
        Assert.True(read.IsBundle);
        Assert.Equal("m.onnx", read.Layers.Single().Annotation(OciAnnotations.Title));
        Assert.Equal(Hex, read.Layers.Single().Sha256);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"schemaVersion\":1,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":CONFIG,\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":\"2\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":CONFIG,\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":CONFIG,\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"config\":CONFIG,\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":CONFIG}")]
    [InlineData("{\"schemaVersion\":2,\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":CONFIG,\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"sha256:ABC\",\"size\":1},\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"sha256:../../etc/passwd\",\"size\":1},\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"DIGEST\",\"size\":-1},\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"DIGEST\",\"size\":1.5},\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"DIGEST\",\"size\":99999999999999999999999},\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"no slash\",\"digest\":\"DIGEST\",\"size\":1},\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":CONFIG,\"layers\":[{\"mediaType\":\"a/b\",\"digest\":\"DIGEST\",\"size\":1,\"annotations\":{\"k\":1}}]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":CONFIG,\"layers\":[]} trailing")]
    public void A_hostile_manifest_is_refused(string json)
    {
        var config = $"{{\"mediaType\":\"{OciMediaTypes.BundleConfig}\",\"digest\":\"{Digest}\",\"size\":10}}";
        var bytes = Encoding.UTF8.GetBytes(json.Replace("CONFIG", config, StringComparison.Ordinal).Replace("DIGEST", Digest, StringComparison.Ordinal));

        var ex = Assert.Throws<ModelCacheException>(() => OciManifest.Parse(bytes, null, "oci://127.0.0.1:5000/m:v1"));

        Assert.Equal("OciManifestInvalid", ex.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidData, ex.Kind);
    }

    [Fact]
    public void A_manifest_over_the_cap_or_with_too_many_layers_or_annotations_is_refused()
    {
        Assert.Throws<ModelCacheException>(() => OciManifest.Parse(new byte[OciManifest.MaxManifestBytes + 1], null, "x"));

        var layers = Enumerable.Repeat(OciDescriptor.ForSha256(OciMediaTypes.ModelFile, Hex, 1), OciManifest.MaxLayers + 1).ToList();
        var many = new OciManifest(OciDescriptor.ForSha256(OciMediaTypes.BundleConfig, Hex, 1), layers);
        Assert.Equal("OciManifestInvalid", Assert.Throws<ModelCacheException>(() => OciManifest.Parse(many.ToBytes(), null, "x")).ErrorId);

        var annotations = Enumerable.Range(0, OciManifest.MaxAnnotations + 1).ToDictionary(i => "k" + i, i => "v");
        var annotated = new OciManifest(OciDescriptor.ForSha256(OciMediaTypes.BundleConfig, Hex, 1), Array.Empty<OciDescriptor>(), annotations: annotations);
        Assert.Equal("OciManifestInvalid", Assert.Throws<ModelCacheException>(() => OciManifest.Parse(annotated.ToBytes(), null, "x")).ErrorId);

        var longValue = new OciManifest(OciDescriptor.ForSha256(OciMediaTypes.BundleConfig, Hex, 1), Array.Empty<OciDescriptor>(),
            annotations: new Dictionary<string, string> { ["k"] = new string('v', OciManifest.MaxAnnotationValueLength + 1) });
        Assert.Equal("OciManifestInvalid", Assert.Throws<ModelCacheException>(() => OciManifest.Parse(longValue.ToBytes(), null, "x")).ErrorId);
    }

    [Fact]
    public void A_manifest_without_a_media_type_member_is_judged_by_its_content_type_and_unknown_members_are_ignored()
    {
        var json = $"{{\"schemaVersion\":2,\"config\":{{\"mediaType\":\"{OciMediaTypes.BundleConfig}\",\"digest\":\"{Digest}\",\"size\":10,\"urls\":[]}},\"layers\":[],\"subject\":null,\"x\":{{}}}}";

        var manifest = OciManifest.Parse(Encoding.UTF8.GetBytes(json), OciMediaTypes.ImageManifest, "x");

        Assert.Empty(manifest.Layers);
    }

    [Fact]
    public void A_manifest_that_is_not_a_bundle_is_refused_as_one()
    {
        var image = new OciManifest(OciDescriptor.ForSha256("application/vnd.oci.image.config.v1+json", Hex, 10), Array.Empty<OciDescriptor>());
        Assert.Equal("OciManifestInvalid", Assert.Throws<ModelCacheException>(() => OciManifest.ParseBundle(image.ToBytes(), null, "x")).ErrorId);

        var untitled = new OciManifest(OciDescriptor.ForSha256(OciMediaTypes.BundleConfig, Hex, 10), new[] { OciDescriptor.ForSha256(OciMediaTypes.ModelFile, Hex, 1) });
        Assert.Equal("OciManifestInvalid", Assert.Throws<ModelCacheException>(() => OciManifest.ParseBundle(untitled.ToBytes(), null, "x")).ErrorId);

        var hugeConfig = new OciManifest(OciDescriptor.ForSha256(OciMediaTypes.BundleConfig, Hex, long.MaxValue), Array.Empty<OciDescriptor>());
        Assert.Equal("OciManifestInvalid", Assert.Throws<ModelCacheException>(() => OciManifest.ParseBundle(hugeConfig.ToBytes(), null, "x")).ErrorId);
    }

    private static OciManifest Sample(IReadOnlyDictionary<string, string>? annotations) => new(
        OciDescriptor.ForBytes(OciMediaTypes.BundleConfig, Encoding.UTF8.GetBytes("{}")),
        new[]
        {
            OciDescriptor.ForSha256(OciMediaTypes.ModelFile, Hex, 5, new Dictionary<string, string>
            {
                [OciAnnotations.Title] = "m.onnx",
                [OciAnnotations.ModelName] = "Family/Member",
            }),
        },
        OciMediaTypes.BundleArtifact,
        annotations);
}
