using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Registry;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.Registry;

/// <summary>
/// A bundle pushed to the real CNCF distribution registry, judged by skopeo: inspect --raw returns our manifest, and
/// copy into an OCI layout yields blobs that hash to the catalog. A second push uploads nothing.
/// </summary>
public sealed class RealRegistryPushTests
{
    [SkippableFact]
    public async Task A_pushed_bundle_is_read_by_skopeo_and_a_second_push_uploads_nothing()
    {
        var binary = DistributionRegistry.Binary();
        var skopeo = Which("skopeo");
        if (binary is null || skopeo is null)
        {
            // On CI both are dependencies (.ci/run installs them): their absence is a failure, not a skip.
            var missing = binary is null ? "docker-registry" : "skopeo";
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", $"{missing} is not installed (apt-get install {missing}).");
            Skip.If(true, $"{missing} is not installed (apt-get install {missing}).");
        }

        using var temp = new TempDirectory();
        await using var registry = await DistributionRegistry.StartAsync(binary!);
        var root = Directory.CreateDirectory(temp.Combine("cache")).FullName;
        var small = TestModels.RandomBytes(40_000, seed: 51);
        var large = TestModels.RandomBytes(3_000_000, seed: 52);
        File.WriteAllBytes(Path.Combine(root, "small.onnx"), small);
        File.WriteAllBytes(Path.Combine(root, "large.onnx"), large);
        var models = new List<(string, string, ModelDefinition)>
        {
            (Path.Combine(root, "small.onnx"), root, TestModels.Define(small, new Uri("http://127.0.0.1:9/small.onnx"), "SMALL", "small.onnx")),
            (Path.Combine(root, "large.onnx"), root, new ModelDefinition("Test", "LARGE", "face_detection", "large.onnx", null, TestModels.Sha256Of(large), large.Length, origin: "user.json")),
        };
        var environment = new FakeEnvironment(temp.Combine("home")).With("DOCKER_CONFIG", temp.Combine("docker"));
        var target = OciArtifactReference.Parse($"oci://127.0.0.1:{registry.Port}/team/models:v1");

        async Task<RegistryPushResult> PushAsync()
        {
            using var http = SourcePlanner.CreateClient(new NetworkOptions(), environment);
            // The 3 MB model goes in 1 MiB chunks (PATCH with Content-Range), the small one in one PUT.
            var client = new OciRegistryClient(http, target.Registry, null, environment, TimeSpan.FromSeconds(30), push: true) { MonolithicLimit = 1 << 20, ChunkSize = 1 << 20 };
            return await BundlePusher.PushAsync(client, target, models, "ModelCache test", null, (_, ex) => throw ex, CancellationToken.None);
        }

        var first = await PushAsync();
        Assert.Equal(3, first.BlobsUploaded);
        Assert.True(await registry.WaitForLogAsync("PATCH /v2/team/models/blobs/uploads/"), registry.Log);

        var second = await PushAsync();
        Assert.Equal(first.Digest, second.Digest);
        Assert.Equal(0, second.BlobsUploaded);
        Assert.Equal(3, second.BlobsSkipped);
        Assert.False(second.TagUpdated);
        await Task.Delay(300); // the access log arrives through a pipe
        Assert.Equal(3, registry.Log.Split('\n').Count(l => l.Contains("POST /v2/team/models/blobs/uploads/", StringComparison.Ordinal)));

        var image = $"docker://127.0.0.1:{registry.Port}/team/models:v1";
        var raw = Run(skopeo!, temp.Path, "inspect", "--raw", "--tls-verify=false", image);
        var manifest = OciManifest.ParseBundle(System.Text.Encoding.UTF8.GetBytes(raw.TrimEnd('\n')), null, "skopeo");
        Assert.Equal(first.Digest, OciManifest.DigestOf(System.Text.Encoding.UTF8.GetBytes(raw.TrimEnd('\n'))));
        Assert.Equal(new[] { "small.onnx", "large.onnx" }, manifest.Layers.Select(l => l.Annotation(OciAnnotations.Title)));

        var layout = temp.Combine("layout");
        Run(skopeo!, temp.Path, "--insecure-policy", "copy", "--src-tls-verify=false", image, "oci:" + layout + ":v1");
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(layout, "index.json")));
        var copied = index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()!;
        Assert.Equal(first.Digest, copied);
        foreach (var (_, _, model) in models)
        {
            var blob = Path.Combine(layout, "blobs", "sha256", model.Sha256);
            Assert.True(File.Exists(blob), $"skopeo copied no blob {model.Sha256} for {model.Name}");
            Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(blob)));
        }
    }

    [SkippableFact]
    public async Task A_model_saved_from_another_repository_of_the_registry_is_mounted_not_uploaded()
    {
        var binary = DistributionRegistry.Binary();
        if (binary is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "docker-registry is not installed (apt-get install docker-registry).");
            Skip.If(true, "docker-registry is not installed (apt-get install docker-registry).");
        }

        using var temp = new TempDirectory();
        await using var registry = await DistributionRegistry.StartAsync(binary!);
        var root = Directory.CreateDirectory(temp.Combine("cache")).FullName;
        var bytes = TestModels.RandomBytes(600_000, seed: 53);
        File.WriteAllBytes(Path.Combine(root, "mounted.onnx"), bytes);
        var model = TestModels.Define(bytes, new Uri("http://127.0.0.1:9/mounted.onnx"), "MOUNTED", "mounted.onnx");
        var models = new List<(string, string, ModelDefinition)> { (Path.Combine(root, "mounted.onnx"), root, model) };
        var environment = new FakeEnvironment(temp.Combine("home")).With("DOCKER_CONFIG", temp.Combine("docker"));

        async Task<RegistryPushResult> PushAsync(string reference, Func<ModelDefinition, string?>? mountFrom)
        {
            var target = OciArtifactReference.Parse(reference);
            using var http = SourcePlanner.CreateClient(new NetworkOptions(), environment);
            var client = new OciRegistryClient(http, target.Registry, null, environment, TimeSpan.FromSeconds(30), push: true);
            return await BundlePusher.PushAsync(client, target, models, "ModelCache test", null, (_, ex) => throw ex, CancellationToken.None, mountFrom);
        }

        await PushAsync($"oci://127.0.0.1:{registry.Port}/team/base:v1", null);
        // The entry's source as a registry mirror records it: oci://host:port/repo@sha256:<hex>.
        var target = OciArtifactReference.Parse($"oci://127.0.0.1:{registry.Port}/team/site:v1");
        var source = $"oci://127.0.0.1:{registry.Port}/team/base@sha256:{model.Sha256}";
        Assert.Equal("team/base", BundlePusher.MountSource(source, target));
        Assert.Null(BundlePusher.MountSource($"oci://127.0.0.2:{registry.Port}/team/base@sha256:{model.Sha256}", target));
        Assert.Null(BundlePusher.MountSource($"oci://127.0.0.1:{registry.Port}/team/site@sha256:{model.Sha256}", target));
        Assert.Null(BundlePusher.MountSource("https://example.com/m.onnx", target));

        var mounted = await PushAsync(target.ToString(), _ => "team/base");
        Assert.Equal(1, mounted.BlobsUploaded); // the config only; the model's layer was mounted
        Assert.Equal(1, mounted.BlobsSkipped);
        Assert.True(await registry.WaitForLogAsync($"POST /v2/team/site/blobs/uploads/?mount=sha256%3A{model.Sha256}&from=team%2Fbase"), registry.Log);

        // A repository that does not hold it: the registry opens an upload session instead, and the blob is uploaded.
        var fallback = await PushAsync($"oci://127.0.0.1:{registry.Port}/team/third:v1", _ => "team/nowhere");
        Assert.Equal(2, fallback.BlobsUploaded);
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Select(folder => Path.Combine(folder, name)).FirstOrDefault(File.Exists);

    /// <summary>Runs a tool (bounded to 60 s, HOME in the test's folder) and returns its output; a failure fails the test with its error.</summary>
    private static string Run(string file, string home, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["HOME"] = home;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', arguments)} did not finish within 60 s");
        }

        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited {process.ExitCode}: {error.Result}");
        return output.Result;
    }
}
