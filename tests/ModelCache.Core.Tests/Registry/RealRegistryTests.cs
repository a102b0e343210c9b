using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.Registry;

/// <summary>Against the real CNCF distribution registry: a pushed blob is a model, a missing one falls through.</summary>
public sealed class RealRegistryTests
{
    [SkippableFact]
    public async Task A_blob_pushed_to_a_real_registry_is_saved_and_a_missing_one_falls_through()
    {
        var binary = DistributionRegistry.Binary();
        if (binary is null)
        {
            // On CI the registry is a dependency (.ci/run installs it): its absence is a failure, not a skip.
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "docker-registry is not installed (apt-get install docker-registry).");
            Skip.If(true, "docker-registry is not installed (apt-get install docker-registry).");
        }

        using var temp = new TempDirectory();
        await using var registry = await DistributionRegistry.StartAsync(binary!);
        var pushedBytes = TestModels.RandomBytes(1_500_000, seed: 31);
        var missingBytes = TestModels.RandomBytes(70_000, seed: 32);
        var pushed = TestModels.Define(pushedBytes, new Uri("http://127.0.0.1:9/pushed.onnx"), "PUSHED", "pushed.onnx");
        var missing = TestModels.Define(missingBytes, new Uri("http://127.0.0.1:9/missing.onnx"), "MISSING", "missing.onnx");
        await registry.PushBlobAsync("team/models", pushedBytes);
        var folder = Directory.CreateDirectory(temp.Combine("folder")).FullName;
        File.WriteAllBytes(Path.Combine(folder, missing.FileName), missingBytes);
        var environment = new FakeEnvironment(temp.Combine("home")).With("DOCKER_CONFIG", temp.Combine("docker"));
        var store = new CacheStore(temp.Combine("cache"));
        var warnings = new List<string>();
        using var planner = new SourcePlanner(new[] { $"oci://127.0.0.1:{registry.Port}/team/models", folder }, mirrorOnly: true, offline: false,
            new NetworkOptions { RetryCount = 0 }, environment);
        var saver = new ModelSaver(store, planner);

        var fromRegistry = await saver.SaveAsync(pushed, false, null, warnings.Add, CancellationToken.None);
        var fromFolder = await saver.SaveAsync(missing, false, null, warnings.Add, CancellationToken.None);

        Assert.Equal(pushedBytes, File.ReadAllBytes(fromRegistry.Path));
        Assert.Equal(TransferSource.Mirror, fromRegistry.Transfer!.Source);
        Assert.Equal($"oci://127.0.0.1:{registry.Port}/team/models@sha256:{pushed.Sha256}", fromRegistry.SourceUrl);
        Assert.Equal(missingBytes, File.ReadAllBytes(fromFolder.Path));
        Assert.Contains(warnings, w => w.Contains(missing.Name, StringComparison.Ordinal) && w.Contains("HTTP 404", StringComparison.Ordinal));
        // The access log arrives through a pipe, a moment after the response.
        Assert.True(await registry.WaitForLogAsync($"GET /v2/team/models/blobs/sha256:{pushed.Sha256}"), registry.Log);
    }

    [SkippableFact]
    public async Task An_interrupted_registry_download_resumes_with_a_range_request()
    {
        var binary = DistributionRegistry.Binary();
        if (binary is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "docker-registry is not installed (apt-get install docker-registry).");
            Skip.If(true, "docker-registry is not installed (apt-get install docker-registry).");
        }

        using var temp = new TempDirectory();
        await using var registry = await DistributionRegistry.StartAsync(binary!);
        var bytes = TestModels.RandomBytes(600_000, seed: 33);
        var model = TestModels.Define(bytes, new Uri("http://127.0.0.1:9/resume.onnx"), "RESUME", "resume.onnx");
        await registry.PushBlobAsync("models", bytes);
        var store = new CacheStore(temp.Combine("cache"));
        // A partial download left by an earlier, interrupted attempt from the same registry.
        var reference = $"oci://127.0.0.1:{registry.Port}/models";
        var environment = new FakeEnvironment(temp.Combine("home")).With("DOCKER_CONFIG", temp.Combine("docker"));
        using (var first = new SourcePlanner(new[] { reference }, true, false, new NetworkOptions { RetryCount = 0 }, environment))
        {
            using var cancel = new CancellationTokenSource();
            var progress = new CancelAfter(cancel, 200_000);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ModelSaver(store, first).SaveAsync(model, false, progress, null, cancel.Token));
        }

        using var planner = new SourcePlanner(new[] { reference }, true, false, new NetworkOptions { RetryCount = 0 }, environment);
        var entry = await new ModelSaver(store, planner).SaveAsync(model, false, null, null, CancellationToken.None);

        Assert.Equal(bytes, File.ReadAllBytes(entry.Path));
        Assert.True(entry.Transfer!.Resumed);
        Assert.True(entry.Transfer.BytesTransferred < bytes.Length);
    }

    private sealed class CancelAfter : IProgress<TransferProgress>
    {
        private readonly CancellationTokenSource _cancel;
        private readonly long _bytes;

        public CancelAfter(CancellationTokenSource cancel, long bytes)
        {
            _cancel = cancel;
            _bytes = bytes;
        }

        public void Report(TransferProgress value)
        {
            if (value.Phase == TransferPhase.Downloading && value.BytesDone >= _bytes)
            {
                _cancel.Cancel();
            }
        }
    }
}
