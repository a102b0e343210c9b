using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading.Tasks;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Transfer;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>GET/HEAD of model files: ranges, validators, conditional requests, the index, and corrupt files never served.</summary>
public sealed class ModelFileTests : IDisposable
{
    private readonly ServerFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private HttpClient Http => _fixture.Http;

    private static string ETag => "\"" + ServerFixture.ModelA.Sha256 + "\"";

    [Fact]
    public async Task GET_serves_the_whole_file_with_its_validators()
    {
        using var response = await Http.GetAsync("models/a.onnx");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ServerFixture.BytesA, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(ETag, response.Headers.ETag!.Tag);
        Assert.Equal("bytes", Assert.Single(response.Headers.AcceptRanges));
        Assert.Equal(ServerFixture.BytesA.Length, response.Content.Headers.ContentLength);
        var written = File.GetLastWriteTimeUtc(_fixture.Store.GetModelPath(ServerFixture.ModelA));
        Assert.Equal(new DateTimeOffset(written, TimeSpan.Zero).ToUnixTimeSeconds(), response.Content.Headers.LastModified!.Value.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task HEAD_has_the_length_and_no_body()
    {
        using var response = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "models/a.onnx"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ServerFixture.BytesA.Length, response.Content.Headers.ContentLength);
        Assert.Equal(ETag, response.Headers.ETag!.Tag);
        var (_, raw) = await _fixture.SendRawAsync("HEAD /models/a.onnx HTTP/1.1");
        Assert.EndsWith("\r\n\r\n", raw, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bytes=100-199", 100, 199)]
    [InlineData("bytes=299990-", 299990, 299999)]
    [InlineData("bytes=-10", 299990, 299999)]
    [InlineData("bytes=0-999999", 0, 299999)]
    public async Task A_single_range_is_206_with_its_Content_Range(string range, int first, int last)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "models/a.onnx");
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {first}-{last}/{ServerFixture.BytesA.Length}", response.Content.Headers.ContentRange!.ToString());
        Assert.Equal(ServerFixture.BytesA.AsSpan(first, last - first + 1).ToArray(), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_range_past_the_end_is_416_with_the_length()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "models/a.onnx");
        request.Headers.TryAddWithoutValidation("Range", "bytes=300000-");
        using var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */300000", response.Content.Headers.ContentRange!.ToString());
    }

    [Fact]
    public async Task Several_ranges_are_answered_whole()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "models/a.onnx");
        request.Headers.TryAddWithoutValidation("Range", "bytes=0-1,5-6");
        using var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ServerFixture.BytesA.Length, (await response.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task If_None_Match_with_the_ETag_is_304_and_another_is_200()
    {
        using var same = new HttpRequestMessage(HttpMethod.Get, "models/a.onnx");
        same.Headers.IfNoneMatch.Add(new EntityTagHeaderValue(ETag));
        using var notModified = await Http.SendAsync(same);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var other = new HttpRequestMessage(HttpMethod.Get, "models/a.onnx");
        other.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"0000\""));
        using var full = await Http.SendAsync(other);
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
    }

    [Fact]
    public async Task If_Range_with_a_stale_ETag_gets_the_whole_file_and_with_the_current_one_the_range()
    {
        using var stale = new HttpRequestMessage(HttpMethod.Get, "models/a.onnx");
        stale.Headers.TryAddWithoutValidation("Range", "bytes=100-");
        stale.Headers.TryAddWithoutValidation("If-Range", "\"0123\"");
        using var whole = await Http.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);

        using var current = new HttpRequestMessage(HttpMethod.Get, "models/a.onnx");
        current.Headers.TryAddWithoutValidation("Range", "bytes=100-");
        current.Headers.TryAddWithoutValidation("If-Range", ETag);
        using var partial = await Http.SendAsync(current);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
    }

    [Fact]
    public async Task A_corrupt_cached_file_is_never_served_nor_indexed_and_is_reported()
    {
        var corrupt = (byte[])ServerFixture.BytesB.Clone();
        corrupt[1000] ^= 0xff;
        _fixture.Put(ServerFixture.ModelB, corrupt);

        using var response = await Http.GetAsync("models/b.onnx");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("CachedFileNotVerified", (string)JObject.Parse(await response.Content.ReadAsStringAsync())["errorId"]!);
        Assert.Contains(_fixture.Warnings, w => w.Contains("Test/B", StringComparison.Ordinal));

        var index = JObject.Parse(await Http.GetStringAsync("index.json"));
        Assert.Equal(new[] { "a.onnx" }, index["models"]!.Select(m => (string)m["fileName"]!));
    }

    [Fact]
    public async Task A_model_not_cached_is_404()
    {
        File.Delete(_fixture.Store.GetModelPath(ServerFixture.ModelB));

        using var response = await Http.GetAsync("models/b.onnx");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ModelNotCached", (string)JObject.Parse(await response.Content.ReadAsStringAsync())["errorId"]!);
    }

    [Fact]
    public async Task The_index_is_the_static_mirror_schema_at_both_addresses()
    {
        var root = JObject.Parse(await Http.GetStringAsync("index.json"));
        var models = JObject.Parse(await Http.GetStringAsync("models/index.json"));

        Assert.Equal(1, (int)root["formatVersion"]!);
        Assert.Equal(new[] { "a.onnx", "b.onnx" }, root["models"]!.Select(m => (string)m["fileName"]!));
        Assert.Equal(ServerFixture.ModelA.Sha256, (string)root["models"]![0]!["sha256"]!);
        Assert.Equal(ServerFixture.BytesA.Length, (long)root["models"]![0]!["size"]!);
        Assert.Equal(root["models"]!.ToString(), models["models"]!.ToString());
    }

    [Fact]
    public async Task Save_Model_with_the_server_as_its_mirror_saves_and_verifies()
    {
        var client = new CacheStore(_fixture.Temp("client"));
        using var planner = new SourcePlanner(new[] { _fixture.Server.MirrorUri.ToString() }, mirrorOnly: true, offline: false);
        var saver = new ModelSaver(client, planner);

        var entry = await saver.SaveAsync(ServerFixture.ModelA, false, null, null, default);

        Assert.Equal(TransferSource.Mirror, entry.Source);
        Assert.True(entry.PassedAndUnchanged());
        Assert.Equal(ServerFixture.BytesA, File.ReadAllBytes(entry.Path));
        Assert.Contains(_fixture.Log, l => l.Method == "GET" && l.Path == "/models/a.onnx" && l.Status == 200 && l.Bytes == ServerFixture.BytesA.Length);
    }
}
