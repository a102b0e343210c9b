using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests;

/// <summary>An exported static mirror, served by a real nginx, supplies another cache: one transfer per model, then none.</summary>
public sealed class MirrorExportTests : IDisposable
{
    private static readonly byte[] BytesA = TestModels.RandomBytes(400_000, seed: 21);
    private static readonly byte[] BytesB = TestModels.RandomBytes(250_000, seed: 22);
    private static readonly ModelDefinition ModelA = TestModels.Define(BytesA, new Uri("https://example.invalid/a.onnx"), member: "A", fileName: "a.onnx");
    private static readonly ModelDefinition ModelB = TestModels.Define(BytesB, new Uri("https://example.invalid/b.onnx"), member: "B", fileName: "b.onnx");
    private readonly TempDirectory _temp = new("modelcache-mirror-export");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task An_exported_mirror_served_by_nginx_saves_each_model_once_and_indexes_them()
    {
        var cache = _temp.Combine("cache");
        Directory.CreateDirectory(cache);
        File.WriteAllBytes(Path.Combine(cache, "a.onnx"), BytesA);
        File.WriteAllBytes(Path.Combine(cache, "b.onnx"), BytesB);
        var served = _temp.Combine("served");
        var result = await BundleExporter.ExportAsync(
            new List<(string, ModelDefinition)> { (Path.Combine(cache, "a.onnx"), ModelA), (Path.Combine(cache, "b.onnx"), ModelB) },
            served, "test", null, (_, failure) => throw failure, default, asMirror: true);

        Assert.Equal(new[] { "a.onnx", "b.onnx", "index.json" }, Directory.GetFiles(served).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
        var index = JObject.Parse(File.ReadAllText(Path.Combine(served, "index.json")));
        Assert.Equal(1, (int)index["formatVersion"]!);
        Assert.Equal(ModelA.Sha256, (string)index["models"]![0]!["sha256"]!);
        Assert.Equal(2, result.Models.Count);

        using var nginx = NginxServer.Start(new NginxServerOptions(served));
        var store = new CacheStore(_temp.Combine("client"));
        using var planner = new SourcePlanner(new[] { nginx.BaseAddress.ToString() }, mirrorOnly: true, offline: false);
        var saver = new ModelSaver(store, planner);
        foreach (var model in new[] { ModelA, ModelB })
        {
            var entry = await saver.SaveAsync(model, false, null, null, default);
            Assert.Equal(TransferSource.Mirror, entry.Source);
            Assert.True(entry.PassedAndUnchanged());
        }

        foreach (var model in new[] { ModelA, ModelB })
        {
            Assert.Equal(TransferSource.Cache, (await saver.SaveAsync(model, false, null, null, default)).Source);
        }

        var log = nginx.ReadAccessLog();
        Assert.Equal(1, log.Count(e => e.FileName == "a.onnx" && e.Method == "GET" && e.Status == 200));
        Assert.Equal(1, log.Count(e => e.FileName == "b.onnx" && e.Method == "GET" && e.Status == 200));
    }
}
