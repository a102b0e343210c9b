using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Operations;
using ModelCache.Registry;
using ModelCache.Store;
using ModelCache.Sync;
using ModelCache.Testing;
using ModelCache.Transfer;
using Newtonsoft.Json;

namespace ModelCache.Core.Tests.Registry;

/// <summary>
/// Import-ModelCache -Registry and Sync-ModelCache -Manifest oci://… against a registry that lies: every hostile answer
/// ends in a named error, and nothing unverified reaches the cache.
/// </summary>
public sealed class RegistryPullTests : IDisposable
{
    private static readonly byte[] BytesA = TestModels.RandomBytes(300_000, seed: 41);
    private static readonly byte[] BytesB = TestModels.RandomBytes(200_000, seed: 42);
    private static readonly ModelDefinition ModelA = TestModels.Define(BytesA, new Uri("https://example.invalid/a.onnx"), member: "A", fileName: "a.onnx");
    private static readonly ModelDefinition ModelB = TestModels.Define(BytesB, new Uri("https://example.invalid/b.onnx"), member: "B", fileName: "b.onnx");
    private readonly TempDirectory _temp = new("modelcache-ocipull");

    public void Dispose() => _temp.Dispose();

    private static ModelCatalog Catalog => new(new[] { ModelA, ModelB });

    private CacheStore Store => new(_temp.Combine("cache"));

    [Fact]
    public async Task A_bundle_artifact_is_imported_by_tag_and_by_digest_and_a_second_import_copies_nothing()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        var digest = Publish(registry, "v1", Config(ModelA, ModelB), Layer(ModelA), Layer(ModelB));

        var first = await ImportAsync(registry.Reference("v1"));
        var again = await ImportAsync(registry.Reference(digest));

        Assert.Equal(new[] { ModelImportStatus.Imported, ModelImportStatus.Imported }, first.Results.Select(r => r.Status));
        Assert.Equal(BytesA, File.ReadAllBytes(Store.GetModelPath(ModelA)));
        Assert.Equal(BytesB, File.ReadAllBytes(Store.GetModelPath(ModelB)));
        Assert.Equal(registry.Reference("v1"), first.Results[0].Bundle);
        Assert.Equal(new[] { ModelImportStatus.Skipped, ModelImportStatus.Skipped }, again.Results.Select(r => r.Status));
        Assert.Contains(first.Notes, n => n.Contains(digest, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_carried_catalog_entry_defines_a_new_model_whose_entry_is_kept_only_once_its_layer_verified()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        var bytes = TestModels.RandomBytes(50_000, seed: 43);
        var carried = TestModels.Define(bytes, new Uri("https://example.invalid/new.onnx"), member: "NEW", fileName: "new.onnx");
        registry.PutBlob(bytes);
        var config = Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(new BundleManifest
        {
            Tool = "test",
            Models = new List<BundleModel> { BundleModel.From(carried, bytes.Length, carried.Sha256, includeCatalogEntry: true) },
        }));
        Publish(registry, "new", config, Layer(carried));
        var userCatalog = new UserCatalogFile(_temp.Combine("user")).FilePath;
        registry.PutBlobAs("sha256:" + carried.Sha256, TestModels.RandomBytes(bytes.Length, seed: 98));

        var lying = await ImportAsync(registry.Reference("new"));
        Assert.False(File.Exists(userCatalog));
        registry.PutBlob(bytes);
        var import = await ImportAsync(registry.Reference("new"));

        Assert.Equal("HashMismatch", Assert.Single(lying.Failures).ErrorId);
        Assert.Equal(ModelImportStatus.Imported, Assert.Single(import.Results).Status);
        Assert.Equal(bytes, File.ReadAllBytes(Store.GetModelPath(carried)));
        Assert.Contains("\"member\": \"NEW\"", File.ReadAllText(userCatalog), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_token_flow_is_followed_and_a_blob_redirected_to_another_host_gets_no_credentials()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        registry.RequireToken = true;
        registry.RedirectBlobs = true;
        Publish(registry, "v1", Config(ModelA, ModelB), Layer(ModelA), Layer(ModelB));

        var import = await ImportAsync(registry.Reference("v1"));

        Assert.All(import.Results, r => Assert.Equal(ModelImportStatus.Imported, r.Status));
        var requests = registry.Requests;
        Assert.Contains(requests, r => r.Host == "registry" && r.Path.StartsWith("/v2/models/manifests/", StringComparison.Ordinal) && r.Authorization == "Bearer issued-1");
        Assert.Equal(3, requests.Count(r => r.Host == "storage")); // the config and both layers
        Assert.All(requests.Where(r => r.Host == "storage"), r => Assert.Null(r.Authorization));
    }

    [Fact]
    public async Task An_endless_manifest_is_cut_at_its_cap()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        registry.EndlessManifest = true;
        var clock = Stopwatch.StartNew();

        var error = await OpenFailsAsync(registry.Reference("v1"));

        Assert.Equal("RegistryManifestTooLarge", error.ErrorId);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());
    }

    [Fact]
    public async Task A_manifest_sent_with_another_media_type_is_refused()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        var manifest = Manifest(registry, Config(ModelA), Layer(ModelA));
        registry.PutManifest("json", manifest, "application/json");
        registry.PutManifest("docker", manifest, "application/vnd.docker.distribution.manifest.v2+json");

        Assert.Equal("OciManifestInvalid", (await OpenFailsAsync(registry.Reference("json"))).ErrorId);
        Assert.Equal("OciManifestInvalid", (await OpenFailsAsync(registry.Reference("docker"))).ErrorId);
        Assert.Empty(Directory.Exists(_temp.Combine("cache")) ? Directory.GetFiles(_temp.Combine("cache"), "*.onnx", SearchOption.AllDirectories) : Array.Empty<string>());
    }

    [Fact]
    public async Task A_manifest_whose_bytes_are_not_its_digest_is_refused()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        var real = Manifest(registry, Config(ModelA), Layer(ModelA));
        var other = Manifest(registry, Config(ModelB), Layer(ModelB));
        var asked = OciManifest.DigestOf(real);
        registry.PutManifest("lying-header", real, digestHeader: OciManifest.DigestOf(other));
        // Then the registry answers the digest of one manifest with another (and an honest Docker-Content-Digest for it).
        registry.PutManifest(asked, other);

        var byDigest = await OpenFailsAsync(registry.Reference(asked));
        var byHeader = await OpenFailsAsync(registry.Reference("lying-header"));

        Assert.Equal("RegistryDigestMismatch", byDigest.ErrorId);
        Assert.Contains(asked, byDigest.Message, StringComparison.Ordinal);
        Assert.Equal("RegistryDigestMismatch", byHeader.ErrorId);
    }

    [Fact]
    public async Task A_config_that_is_not_a_bundle_manifest_too_long_or_not_its_digest_is_refused()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        registry.PutBlob(BytesA);
        Publish(registry, "not-bundle", Encoding.UTF8.GetBytes("[1, 2, 3]"), Layer(ModelA));
        var good = Config(ModelA);
        var longer = Manifest(registry, good, Layer(ModelA));
        registry.PutBlobAs(OciManifest.DigestOf(good), good.Concat(new byte[5000]).ToArray());
        registry.PutManifest("longer", longer);
        var changed = Config(ModelB);
        var tampered = new OciManifest(OciDescriptor.ForBytes(OciMediaTypes.BundleConfig, changed), new[] { Layer(ModelB) }, OciMediaTypes.BundleArtifact).ToBytes();
        var same = (byte[])changed.Clone();
        same[^2] ^= 1;
        registry.PutBlobAs(OciManifest.DigestOf(changed), same);
        registry.PutManifest("tampered", tampered);
        var big = new OciManifest(OciDescriptor.ForSha256(OciMediaTypes.BundleConfig, new string('a', 64), 50L << 20), new[] { Layer(ModelA) }, OciMediaTypes.BundleArtifact);
        registry.PutManifest("big", big.ToBytes());

        Assert.Equal("BundleManifestInvalid", (await OpenFailsAsync(registry.Reference("not-bundle"))).ErrorId);
        Assert.Equal("RegistryManifestTooLarge", (await OpenFailsAsync(registry.Reference("longer"))).ErrorId);
        Assert.Equal("RegistryDigestMismatch", (await OpenFailsAsync(registry.Reference("tampered"))).ErrorId);
        Assert.Equal("OciManifestInvalid", (await OpenFailsAsync(registry.Reference("big"))).ErrorId);
        Assert.DoesNotContain(registry.Requests, r => r.Path.Contains(new string('a', 64), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_layer_that_lies_about_its_size_or_digest_saves_nothing_and_the_others_are_imported()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        registry.PutBlob(BytesA);
        registry.PutBlob(BytesB);
        // The descriptor lies about A's size; then the blob of B's digest holds other bytes of B's length.
        Publish(registry, "size", Config(ModelA, ModelB), Layer(ModelA, size: BytesA.Length + 1), Layer(ModelB));
        var sizeLie = await ImportAsync(registry.Reference("size"));
        Assert.Equal(ModelImportStatus.Failed, sizeLie.Results[0].Status);
        Assert.Equal("RegistryLayerMismatch", Assert.Single(sizeLie.Failures).ErrorId);
        Assert.Equal(ModelImportStatus.Imported, sizeLie.Results[1].Status);
        Assert.False(File.Exists(Store.GetModelPath(ModelA)));

        File.Delete(Store.GetModelPath(ModelB));
        Publish(registry, "digest", Config(ModelA, ModelB), Layer(ModelA), Layer(ModelB));
        registry.PutBlobAs("sha256:" + ModelB.Sha256, TestModels.RandomBytes(BytesB.Length, seed: 99));
        registry.PutBlobAs("sha256:" + ModelA.Sha256, BytesA.Concat(new byte[10]).ToArray());
        var digestLie = await ImportAsync(registry.Reference("digest"));
        Assert.All(digestLie.Results, r => Assert.Equal(ModelImportStatus.Failed, r.Status));
        Assert.Equal(new[] { "SizeMismatch", "HashMismatch" }, digestLie.Failures.Select(f => f.ErrorId));
        Assert.False(File.Exists(Store.GetModelPath(ModelA)));
        Assert.False(File.Exists(Store.GetModelPath(ModelB)));
        Assert.Empty(Directory.GetFiles(_temp.Combine("cache"), "*.partial*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_layer_the_bundle_manifest_does_not_list_refuses_the_artifact()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        Publish(registry, "extra", Config(ModelA), Layer(ModelA), Layer(ModelB));

        Assert.Equal("OciManifestInvalid", (await OpenFailsAsync(registry.Reference("extra"))).ErrorId);
    }

    [Fact]
    public async Task An_index_is_followed_one_level_and_never_two()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        var digest = Publish(registry, "v1", Config(ModelA), Layer(ModelA));
        var index = Index(digest, OciMediaTypes.ImageManifest, OciMediaTypes.BundleArtifact);
        var indexDigest = registry.PutManifest("index", index, OciMediaTypes.ImageIndex);
        registry.PutManifest("nested", Index(indexDigest, OciMediaTypes.ImageIndex, null), OciMediaTypes.ImageIndex);
        // An index whose entry claims to be a manifest but is an index.
        registry.PutManifest("disguised", Index(indexDigest, OciMediaTypes.ImageManifest, OciMediaTypes.BundleArtifact), OciMediaTypes.ImageIndex);

        var import = await ImportAsync(registry.Reference("index"));
        var nested = await OpenFailsAsync(registry.Reference("nested"));
        var disguised = await OpenFailsAsync(registry.Reference("disguised"));

        Assert.Equal(ModelImportStatus.Imported, Assert.Single(import.Results).Status);
        Assert.Equal("OciManifestInvalid", nested.ErrorId);
        Assert.Equal("OciManifestInvalid", disguised.ErrorId);
        Assert.Contains("one level", disguised.Message, StringComparison.Ordinal);
        Assert.Equal(1, registry.Requests.Count(r => r.Path == "/v2/models/manifests/" + indexDigest));
    }

    [Fact]
    public async Task A_refusal_401_or_403_and_a_missing_tag_are_named_errors()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        var missing = await OpenFailsAsync(registry.Reference("nope"));
        registry.RequireToken = true;
        registry.DenyTokens = true;
        var unauthorized = await OpenFailsAsync(registry.Reference("v1"));
        registry.Forbid = true;
        var forbidden = await OpenFailsAsync(registry.Reference("v1"));

        Assert.Equal("RegistryArtifactNotFound", missing.ErrorId);
        Assert.Equal("RegistryAccessDenied", forbidden.ErrorId);
        Assert.Contains("403", forbidden.Message, StringComparison.Ordinal);
        Assert.Equal("RegistryAccessDenied", unauthorized.ErrorId);
        Assert.Contains("401", unauthorized.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registry_manifest_is_the_desired_state_and_its_repository_the_source()
    {
        await using var registry = await FakeArtifactRegistry.StartAsync();
        registry.PutBlob(BytesA);
        registry.PutBlob(BytesB);
        Publish(registry, "v1", Config(ModelA, ModelB), Layer(ModelA), Layer(ModelB));
        var store = Store;
        var extraBytes = TestModels.RandomBytes(10_000, seed: 44);
        var extra = TestModels.Define(extraBytes, new Uri("https://example.invalid/extra.onnx"), member: "EXTRA", fileName: "extra.onnx");
        var catalog = new ModelCatalog(new[] { ModelA, ModelB, extra });
        var folder = Directory.CreateDirectory(_temp.Combine("folder")).FullName;
        File.WriteAllBytes(Path.Combine(folder, extra.FileName), extraBytes);
        using (var seed = new SourcePlanner(new[] { folder }, true, false))
        {
            await new ModelSaver(store, seed).SaveAsync(extra, false, null, null, CancellationToken.None);
        }

        var environment = new FakeEnvironment(_temp.Combine("home")).With("DOCKER_CONFIG", _temp.Combine("docker"));
        var network = new NetworkOptions { RetryCount = 0, Timeout = TimeSpan.FromSeconds(10) };
        var (manifest, bundle) = await RegistryManifest.ReadAsync(registry.Reference("v1"), catalog, network, offline: false, environment, CancellationToken.None);
        var events = new Events();
        var sync = new CacheSync(store, environment, events);
        var plan = await sync.PlanAsync(manifest, catalog, new SyncPlanOptions { Prune = true }, CancellationToken.None);
        using var sources = new SourcePlanner(new[] { bundle.Repository.ToString() }, mirrorOnly: true, offline: false, network, environment);
        var summary = await sync.ExecuteAsync(plan, plan.Items.Where(i => i.IsDrift).ToList(), new SyncExecution { Sources = sources }, CancellationToken.None);

        Assert.Equal(registry.Reference("v1"), plan.Manifest);
        Assert.Equal((2, 1, 0), (summary.Added, summary.Removed, summary.Failed));
        Assert.Equal(BytesA, File.ReadAllBytes(store.GetModelPath(ModelA)));
        Assert.False(File.Exists(store.GetModelPath(extra)));
        Assert.Empty(events.Failures);
        var offline = await Assert.ThrowsAsync<ModelCacheException>(() =>
            RegistryManifest.ReadAsync(registry.Reference("v1"), catalog, network, offline: true, environment, CancellationToken.None));
        Assert.Equal("RegistryManifestOffline", offline.ErrorId);
    }

    internal static byte[] Config(params ModelDefinition[] models) => Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(new BundleManifest
    {
        Tool = "test",
        CreatedAt = DateTimeOffset.UnixEpoch,
        Models = models.Select(m => BundleModel.From(m, m.Size!.Value, m.Sha256, includeCatalogEntry: false)).ToList(),
    }));

    internal static OciDescriptor Layer(ModelDefinition model, long? size = null) =>
        OciDescriptor.ForSha256(OciMediaTypes.ModelFile, model.Sha256, size ?? model.Size!.Value,
            new Dictionary<string, string> { [OciAnnotations.Title] = model.FileName, [OciAnnotations.ModelName] = model.Name });

    /// <summary>Puts the config, each model's layer and the manifest; returns the manifest's digest.</summary>
    private static string Publish(FakeArtifactRegistry registry, string tag, byte[] config, params OciDescriptor[] layers)
    {
        foreach (var (model, bytes) in new[] { (ModelA, BytesA), (ModelB, BytesB) })
        {
            if (layers.Any(l => l.Sha256 == model.Sha256))
            {
                registry.PutBlob(bytes);
            }
        }

        return registry.PutManifest(tag, Manifest(registry, config, layers));
    }

    private static byte[] Manifest(FakeArtifactRegistry registry, byte[] config, params OciDescriptor[] layers)
    {
        registry.PutBlob(config);
        return new OciManifest(OciDescriptor.ForBytes(OciMediaTypes.BundleConfig, config), layers, OciMediaTypes.BundleArtifact).ToBytes();
    }

    private static byte[] Index(string digest, string mediaType, string? artifactType) => Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(new
    {
        schemaVersion = 2,
        mediaType = OciMediaTypes.ImageIndex,
        manifests = new[] { new { mediaType, digest, size = 100, artifactType } },
    }));

    private async Task<ModelCacheException> OpenFailsAsync(string reference) =>
        await Assert.ThrowsAnyAsync<ModelCacheException>(() => ImportAsync(reference));

    private async Task<Imported> ImportAsync(string reference)
    {
        var backend = new CatalogCacheBackend(Store);
        var environment = new FakeEnvironment(_temp.Combine("home")).With("DOCKER_CONFIG", _temp.Combine("docker"));
        var network = new NetworkOptions { RetryCount = 0, Timeout = TimeSpan.FromSeconds(10) };
        using var import = await ImportOperation.OpenRegistryAsync(backend, reference, Catalog, new UserCatalogFile(_temp.Combine("user")), network, offline: false, environment, CancellationToken.None);
        var result = new Imported();
        foreach (var item in import.Items)
        {
            try
            {
                result.Results.Add(await import.ImportAsync(item, null, null, CancellationToken.None));
            }
            catch (ModelCacheException ex)
            {
                result.Failures.Add(ex);
                result.Results.Add(import.Failed(item, ex));
            }
        }

        result.Notes.AddRange(import.Notes);
        return result;
    }

    private sealed class Imported
    {
        public List<ModelImportResult> Results { get; } = new();

        public List<ModelCacheException> Failures { get; } = new();

        public List<string> Notes { get; } = new();
    }

    private sealed class Events : IOperationEvents
    {
        public List<ModelCacheException> Failures { get; } = new();

        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }

        public void Failed(ModelCacheException error, object? target) => Failures.Add(error);
    }
}
