using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Registry;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.Registry;

/// <summary>Pushing a bundle artifact, against a fake registry that can refuse, lie and move uploads elsewhere.</summary>
public sealed class RegistryPushTests : IAsyncLifetime
{
    private static readonly byte[] Small = TestModels.RandomBytes(3_000, seed: 41);
    private static readonly byte[] Large = TestModels.RandomBytes(25_000, seed: 42);
    private readonly TempDirectory _temp = new();
    private readonly List<HttpClient> _clients = new();
    private FakePushRegistry _registry = null!;
    private FakeEnvironment _environment = null!;
    private DateTimeOffset _now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    public async Task InitializeAsync()
    {
        _registry = await FakePushRegistry.StartAsync();
        _environment = new FakeEnvironment(_temp.Combine("home")).With("DOCKER_CONFIG", _temp.Combine("docker"));
    }

    public async Task DisposeAsync()
    {
        _clients.ForEach(c => c.Dispose());
        await _registry.DisposeAsync();
        _temp.Dispose();
    }

    private string Root => _temp.Combine("cache");

    /// <summary>Two cached models: one pushed in one PUT, one in PATCH chunks (limits lowered to a few KB).</summary>
    private List<(string File, string Root, ModelDefinition Model)> Cached(byte[]? corruptSmall = null)
    {
        Directory.CreateDirectory(Root);
        var small = TestModels.Define(Small, new Uri("http://127.0.0.1:9/small.onnx"), "SMALL", "small.onnx");
        // A model from a user's catalog: its entry travels in the bundle manifest.
        var large = new ModelDefinition("Test", "LARGE", "face_detection", "large.onnx", new Uri("http://127.0.0.1:9/large.onnx"), TestModels.Sha256Of(Large), Large.Length, origin: "user.json");
        File.WriteAllBytes(Path.Combine(Root, "small.onnx"), corruptSmall ?? Small);
        File.WriteAllBytes(Path.Combine(Root, "large.onnx"), Large);
        return new() { (Path.Combine(Root, "small.onnx"), Root, small), (Path.Combine(Root, "large.onnx"), Root, large) };
    }

    private OciRegistryClient Client(OciArtifactReference target)
    {
        var http = SourcePlanner.CreateClient(new NetworkOptions(), _environment);
        _clients.Add(http);
        return new OciRegistryClient(http, target.Registry, null, _environment, TimeSpan.FromSeconds(20), push: true, () => _now)
        {
            MonolithicLimit = 10_000,
            ChunkSize = 8_000,
        };
    }

    private async Task<RegistryPushResult> PushAsync(string tag = "v1", List<(string, string, ModelDefinition)>? models = null, List<ModelCacheException>? failures = null)
    {
        var target = OciArtifactReference.Parse(_registry.Reference("team/models", tag));
        return await BundlePusher.PushAsync(Client(target), target, models ?? Cached(), "ModelCache test", null,
            (_, ex) => (failures ?? new List<ModelCacheException>()).Add(ex), CancellationToken.None);
    }

    private int UploadSessions => _registry.Requests.Count(r => r.Method == "POST");

    [Fact]
    public async Task A_bundle_is_pushed_as_one_artifact_and_pushing_it_again_uploads_nothing()
    {
        var first = await PushAsync();

        Assert.Equal(3, first.BlobsUploaded);
        Assert.Equal(0, first.BlobsSkipped);
        Assert.Equal(3, _registry.BlobsStored);
        Assert.Equal(4, _registry.Patches); // 25,000 bytes in chunks of 8,000
        Assert.True(first.TagUpdated);
        var stored = _registry.Manifest("team/models", "v1")!;
        Assert.Equal(OciManifest.DigestOf(stored), first.Digest);
        Assert.EndsWith("/team/models@" + first.Digest, first.PinnedReference, StringComparison.Ordinal);
        var manifest = OciManifest.ParseBundle(stored, null, "test");
        Assert.Equal(OciMediaTypes.BundleArtifact, manifest.ArtifactType);
        Assert.Equal(new[] { "small.onnx", "large.onnx" }, manifest.Layers.Select(l => l.Annotation(OciAnnotations.Title)));
        Assert.Equal(new[] { "Test/SMALL", "Test/LARGE" }, manifest.Layers.Select(l => l.Annotation(OciAnnotations.ModelName)));
        Assert.Equal(Large, _registry.Blobs["sha256:" + TestModels.Sha256Of(Large)]);
        // The config blob is the bundle manifest, in the schema of manifest.json, carried catalog entries included.
        var bundle = BundleManifestReader.Parse(_registry.Blobs[manifest.Config.Digest], "config");
        Assert.Equal(new[] { "small.onnx", "large.onnx" }, bundle.Models.Select(m => m.FileName));
        Assert.Null(bundle.Models[0].CatalogEntry);
        Assert.Equal("large.onnx", (string?)bundle.Models[1].CatalogEntry!["fileName"]);
        Assert.Equal(BundlePusher.ReproducibleTime, bundle.CreatedAt);
        var sessions = UploadSessions;

        var second = await PushAsync();

        Assert.Equal(first.Digest, second.Digest);
        Assert.Equal(0, second.BlobsUploaded);
        Assert.Equal(0, second.BytesUploaded);
        Assert.Equal(3, second.BlobsSkipped);
        Assert.Equal(Small.Length + Large.Length + manifest.Config.Size, second.BytesSkipped);
        Assert.False(second.TagUpdated);
        Assert.Equal(sessions, UploadSessions);
        Assert.Single(_registry.Requests, r => r.Method == "PUT" && r.Path.Contains("/manifests/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_upload_is_an_error_naming_the_registry_and_its_words_without_control_characters()
    {
        _registry.RefuseUploads = 400;

        var ex = await Assert.ThrowsAsync<TransferException>(() => PushAsync());

        Assert.Equal("RegistryPushFailed", ex.ErrorId);
        Assert.False(ex.IsTransient);
        Assert.Contains("DENIED pushes are closed? today", ex.Message, StringComparison.Ordinal);
        Assert.Null(_registry.Manifest("team/models", "v1"));

        _registry.RefuseUploads = 503;
        Assert.True((await Assert.ThrowsAsync<TransferException>(() => PushAsync())).IsTransient);
    }

    [Fact]
    public async Task An_upload_answer_without_location_is_a_protocol_error()
    {
        _registry.OmitLocation = true;

        var ex = await Assert.ThrowsAsync<TransferException>(() => PushAsync());

        Assert.Equal("RegistryProtocolError", ex.ErrorId);
        Assert.Contains("Location", ex.Message, StringComparison.Ordinal);
        Assert.Null(_registry.Manifest("team/models", "v1"));
    }

    [Fact]
    public async Task An_upload_location_on_another_host_gets_no_credentials()
    {
        _registry.Bearer = true;
        _registry.ForeignUploads = true;

        var result = await PushAsync();

        Assert.Equal(3, result.BlobsUploaded);
        var storage = _registry.Requests.Where(r => r.Host == "storage").ToList();
        Assert.Contains(storage, r => r.Method == "PATCH");
        Assert.Contains(storage, r => r.Method == "PUT");
        Assert.All(storage, r => Assert.Null(r.Authorization));
        Assert.Contains(_registry.Requests, r => r.Host == "registry" && r.Method == "PUT" && r.Authorization == "Bearer issued-1");
        // The token was asked for pull and push at once: one token served the whole push.
        Assert.Equal(1, _registry.TokensIssued);
        Assert.Contains(_registry.Requests, r => r.Path.StartsWith("/token", StringComparison.Ordinal) && r.Path.Contains("scope=repository%3Ateam%2Fmodels%3Apull%2Cpush", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_registry_that_claims_blobs_it_lacks_gets_them_uploaded_when_the_manifest_is_refused()
    {
        _registry.ClaimEveryBlob = true;

        var result = await PushAsync();

        Assert.Equal(3, result.BlobsUploaded);
        Assert.Equal(0, result.BlobsSkipped);
        Assert.Equal(Small.Length + Large.Length + OciManifest.ParseBundle(_registry.Manifest("team/models", "v1")!, null, "t").Config.Size, result.BytesUploaded);
        Assert.Equal(2, _registry.Requests.Count(r => r.Method == "PUT" && r.Path.Contains("/manifests/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_token_that_expires_during_a_chunked_upload_is_renewed_and_the_chunk_sent_again()
    {
        _registry.Bearer = true;
        _registry.AfterPatch = n =>
        {
            if (n == 1)
            {
                _now = _now.AddHours(2);
            }
        };

        var result = await PushAsync();

        Assert.Equal(3, result.BlobsUploaded);
        Assert.Equal(2, _registry.TokensIssued);
        Assert.Equal(Large, _registry.Blobs["sha256:" + TestModels.Sha256Of(Large)]);
        Assert.Contains(_registry.Requests, r => r.Method == "PATCH" && r.Authorization is null);
    }

    [Fact]
    public async Task A_corrupt_cached_file_is_not_committed_and_its_session_is_cancelled()
    {
        var corrupt = (byte[])Small.Clone();
        corrupt[10] ^= 0xFF;

        var ex = await Assert.ThrowsAsync<TransferException>(() => PushAsync(models: Cached(corrupt)));

        Assert.Equal("HashMismatch", ex.ErrorId);
        Assert.False(_registry.Blobs.ContainsKey("sha256:" + TestModels.Sha256Of(Small)));
        Assert.Contains(_registry.Requests, r => r.Method == "DELETE");
        Assert.Null(_registry.Manifest("team/models", "v1"));
    }

    [Fact]
    public async Task A_file_that_is_not_a_regular_file_inside_its_root_is_left_out_and_reported()
    {
        var models = Cached();
        var outside = _temp.Combine("outside.onnx");
        File.WriteAllBytes(outside, Small);
        File.Delete(models[0].File);
        File.CreateSymbolicLink(models[0].File, outside);
        var failures = new List<ModelCacheException>();

        var result = await PushAsync(models: models, failures: failures);

        Assert.Equal(new[] { models[1].Model.Name }, result.Models);
        Assert.Single(failures);
        Assert.Equal(1, result.Layers);
    }

    [Fact]
    public async Task A_digest_reference_cannot_be_pushed_to()
    {
        var target = OciArtifactReference.Parse($"oci://127.0.0.1:{_registry.BaseAddress.Port}/m@sha256:{new string('a', 64)}");

        var ex = await Assert.ThrowsAsync<ModelCacheException>(() => BundlePusher.PushAsync(Client(target), target, Cached(), "t", null, (_, _) => { }, CancellationToken.None));

        Assert.Equal("InvalidArtifactReference", ex.ErrorId);
        Assert.Empty(_registry.Requests);
    }

    [Fact]
    public async Task A_chunk_acknowledged_at_the_wrong_range_is_a_protocol_error_and_the_session_is_cancelled()
    {
        _registry.WrongRange = true;

        var ex = await Assert.ThrowsAsync<TransferException>(() => PushAsync());

        Assert.Equal("RegistryProtocolError", ex.ErrorId);
        Assert.Contains(_registry.Requests, r => r.Method == "DELETE");
        Assert.Null(_registry.Manifest("team/models", "v1"));
    }

    [Fact]
    public async Task A_registry_that_is_not_there_is_unreachable_and_named()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var target = OciArtifactReference.Parse($"oci://127.0.0.1:{port}/models:v1");

        var ex = await Assert.ThrowsAsync<TransferException>(() => BundlePusher.PushAsync(Client(target), target, Cached(), "t", null, (_, _) => { }, CancellationToken.None));

        Assert.Equal("RegistryUnreachable", ex.ErrorId);
        Assert.True(ex.IsTransient);
        Assert.Contains($"127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
    }
}
