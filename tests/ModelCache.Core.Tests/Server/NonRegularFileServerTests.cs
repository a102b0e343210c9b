using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using ModelCache.Testing;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// A FIFO or socket planted in the served cache in place of a model file or its entry.json: /metrics,
/// /api/models/status and downloads answer (the model is not served), and the server serves the other model.
/// Every request is bounded, so an open that blocks on the FIFO fails the test instead of hanging it.
/// </summary>
public sealed class NonRegularFileServerTests
{
    [Theory]
    [InlineData("fifo", false)]
    [InlineData("fifo", true)]
    [InlineData("socket", false)]
    public async Task Metrics_status_and_downloads_answer_when_a_cached_file_is_not_a_regular_file(string kind, bool metadata)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var fixture = new ServerFixture();
        var modelPath = fixture.Store.GetModelPath(ServerFixture.ModelA);
        var planted = metadata ? Path.Combine(Path.GetDirectoryName(modelPath)!, "entry.json") : modelPath;
        using var socket = kind == "socket" ? SpecialFiles.MakeSocket(planted) : null;
        if (kind == "fifo")
        {
            SpecialFiles.MakeFifo(planted);
        }

        var root = fixture.Temp();
        var metrics = await SpecialFiles.BoundedAsync(root, () => fixture.Http.GetStringAsync("metrics"));
        Assert.Contains("modelcache_", metrics);

        var status = JObject.Parse(await SpecialFiles.BoundedAsync(root, () => fixture.Http.GetStringAsync("api/models/status")));
        var names = status["entries"]!.Select(e => (string)e["name"]!).OrderBy(n => n).ToList();
        Assert.Equal(metadata ? new[] { "Test/A", "Test/B" } : new[] { "Test/B" }, names);

        var (statusA, bytesA) = await SpecialFiles.BoundedAsync(root, async () =>
        {
            using var response = await fixture.Http.GetAsync("models/a.onnx");
            return (response.StatusCode, await response.Content.ReadAsByteArrayAsync());
        });
        if (metadata)
        {
            Assert.Equal(HttpStatusCode.OK, statusA);
            Assert.Equal(ServerFixture.BytesA, bytesA);
        }
        else
        {
            Assert.True(statusA != HttpStatusCode.OK, $"served {bytesA.Length} bytes: {System.Text.Encoding.UTF8.GetString(bytesA.Take(300).ToArray())}");
            Assert.True((int)statusA >= 400);
        }

        var bytesB = await SpecialFiles.BoundedAsync(root, () => fixture.Http.GetByteArrayAsync("models/b.onnx"));
        Assert.Equal(ServerFixture.BytesB, bytesB);
    }
}
