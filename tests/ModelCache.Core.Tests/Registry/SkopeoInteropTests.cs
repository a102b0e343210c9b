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
/// What another tool pushes is imported: the test writes an OCI image layout holding a bundle artifact of two fixture
/// models (config = a bundle manifest, one layer per file), skopeo copies it to the real distribution registry, and
/// ModelCache imports (and syncs) it from there; the files hash to the catalog.
/// </summary>
public sealed class SkopeoInteropTests : IDisposable
{
    private readonly TempDirectory _temp = new("modelcache-skopeo");

    public void Dispose() => _temp.Dispose();

    [SkippableFact]
    public async Task A_bundle_skopeo_pushed_from_an_oci_layout_is_imported_and_synced()
    {
        var (registryBinary, skopeo) = Tools();
        var catalog = new ModelCatalog(ModelCatalog.ReadBuiltIn());
        var models = File.ReadAllLines(Path.Combine(TestPaths.Reference, "extra-models.tsv")).Skip(1).Select(l => l.Split('\t'))
            .Take(2).Select(row => catalog.Resolve(row[1] + "/" + row[2])).ToList();
        var layout = WriteLayout(_temp.Combine("layout"), "v1", models);
        await using var registry = await DistributionRegistry.StartAsync(registryBinary!);
        var target = $"docker://127.0.0.1:{registry.Port}/team/bundles:v1";
        var (code, output) = await RunAsync(skopeo!, "--insecure-policy", "copy", "--dest-tls-verify=false", $"oci:{layout.Folder}:v1", target);
        Assert.True(code == 0, output);

        var environment = new FakeEnvironment(_temp.Combine("home")).With("DOCKER_CONFIG", _temp.Combine("docker"));
        var network = new NetworkOptions { RetryCount = 0 };
        var store = new CacheStore(_temp.Combine("cache"));
        using (var import = await ImportOperation.OpenRegistryAsync(new CatalogCacheBackend(store), $"oci://127.0.0.1:{registry.Port}/team/bundles:v1", catalog,
                   new UserCatalogFile(_temp.Combine("user")), network, offline: false, environment, CancellationToken.None))
        {
            Assert.Contains(import.Notes, n => n.Contains(layout.ManifestDigest, StringComparison.Ordinal));
            foreach (var item in import.Items)
            {
                Assert.Equal(ModelImportStatus.Imported, (await import.ImportAsync(item, null, null, CancellationToken.None)).Status);
            }
        }

        foreach (var model in models)
        {
            Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(store.GetModelPath(model))));
        }

        // The same artifact, by its digest, as the desired state of another cache.
        var synced = new CacheStore(_temp.Combine("synced"));
        var (manifest, bundle) = await RegistryManifest.ReadAsync($"oci://127.0.0.1:{registry.Port}/team/bundles@{layout.ManifestDigest}", catalog, network, false,
            environment, CancellationToken.None);
        var sync = new CacheSync(synced, environment, new ThrowingEvents());
        var plan = await sync.PlanAsync(manifest, catalog, new SyncPlanOptions(), CancellationToken.None);
        using var sources = new SourcePlanner(new[] { bundle.Repository.ToString() }, mirrorOnly: true, offline: false, network, environment);
        var summary = await sync.ExecuteAsync(plan, plan.Items, new SyncExecution { Sources = sources }, CancellationToken.None);
        Assert.Equal(2, summary.Added);
        Assert.All(models, m => Assert.Equal(m.Sha256, TestModels.Sha256Of(File.ReadAllBytes(synced.GetModelPath(m)))));
        Assert.True(await registry.WaitForLogAsync($"GET /v2/team/bundles/blobs/sha256:{models[0].Sha256}"), registry.Log);
    }

    /// <summary>docker-registry and skopeo, or a skip (a failure on CI, where .ci/run installs both).</summary>
    private static (string? Registry, string? Skopeo) Tools()
    {
        var registry = DistributionRegistry.Binary();
        var skopeo = new[] { "/usr/bin/skopeo", "/usr/local/bin/skopeo" }.FirstOrDefault(File.Exists);
        if (registry is null || skopeo is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "docker-registry or skopeo is not installed (apt-get install docker-registry skopeo).");
            Skip.If(true, "docker-registry or skopeo is not installed (apt-get install docker-registry skopeo).");
        }

        return (registry, skopeo);
    }

    /// <summary>An OCI image layout (image-spec image-layout.md): oci-layout, index.json naming the manifest by tag, blobs/sha256/&lt;hex&gt;.</summary>
    private static (string Folder, string ManifestDigest) WriteLayout(string folder, string tag, IReadOnlyList<ModelDefinition> models)
    {
        var blobs = Directory.CreateDirectory(Path.Combine(folder, "blobs", "sha256")).FullName;
        var config = Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(new BundleManifest
        {
            Tool = "skopeo interop test",
            CreatedAt = DateTimeOffset.UnixEpoch,
            Models = models.Select(m => BundleModel.From(m, m.Size!.Value, m.Sha256, includeCatalogEntry: false)).ToList(),
        }));
        File.WriteAllBytes(Path.Combine(blobs, TestModels.Sha256Of(config)), config);
        var layers = new List<OciDescriptor>();
        foreach (var model in models)
        {
            File.Copy(Path.Combine(TestPaths.FixtureModels, model.FileName), Path.Combine(blobs, model.Sha256));
            layers.Add(RegistryPullTests.Layer(model));
        }

        var manifest = new OciManifest(OciDescriptor.ForBytes(OciMediaTypes.BundleConfig, config), layers, OciMediaTypes.BundleArtifact).ToBytes();
        var digest = OciManifest.DigestOf(manifest);
        File.WriteAllBytes(Path.Combine(blobs, digest.Substring("sha256:".Length)), manifest);
        File.WriteAllText(Path.Combine(folder, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllText(Path.Combine(folder, "index.json"), JsonConvert.SerializeObject(new
        {
            schemaVersion = 2,
            mediaType = OciMediaTypes.ImageIndex,
            manifests = new[]
            {
                new
                {
                    mediaType = OciMediaTypes.ImageManifest,
                    digest,
                    size = manifest.Length,
                    annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = tag },
                },
            },
        }));
        return (folder, digest);
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private sealed class ThrowingEvents : IOperationEvents
    {
        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }

        public void Failed(ModelCacheException error, object? target) => throw new InvalidOperationException(error.Message, error);
    }
}
