using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Server;
using ModelCache.Testing;
using ModelCache.Transfer;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// Every error the server answers is <c>{errorId, message, retryable}</c>, and no error body nor the tokenless
/// <c>/api/models/cache/info</c> and <c>/api/models/status</c> names a local path: not the cache root, not the temp
/// folder, not a mirror folder, not any absolute path of this machine.
/// </summary>
public sealed class ErrorBodyTests : IDisposable
{
    private static readonly byte[] BytesC = TestModels.RandomBytes(50_000, seed: 51);
    private static readonly byte[] BytesD = TestModels.RandomBytes(40_000, seed: 52);
    private readonly TempDirectory _temp = new("modelcache-bodies");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Every_error_body_is_errorId_message_retryable_and_names_no_local_path()
    {
        var mirror = _temp.Combine("mirror");
        Directory.CreateDirectory(mirror);
        File.WriteAllBytes(Path.Combine(mirror, "c.onnx"), BytesC.Reverse().ToArray()); // a mirror copy that does not verify
        var secret = _temp.Combine("secret.onnx");
        File.WriteAllBytes(secret, BytesD);
        var fromMirror = TestModels.Define(BytesC, new Uri("http://127.0.0.1:9/c.onnx"), member: "C", fileName: "c.onnx");
        var fromFile = TestModels.Define(BytesD, new Uri("file://" + secret), member: "D", fileName: "d.onnx");
        var unreachable = TestModels.Define(BytesD, new Uri("http://127.0.0.1:9/e.onnx"), member: "E", fileName: "e.onnx");

        var bodies = new List<(string Request, int Status, string Body)>();
        using (var fixture = new ServerFixture(o => o.PullThrough = new PullThroughOptions
        {
            Mirrors = new[] { mirror },
            Network = new NetworkOptions { Timeout = TimeSpan.FromSeconds(5), RetryCount = 0 },
        }, new[] { fromMirror, fromFile, unreachable }))
        {
            fixture.Put(ServerFixture.ModelB, ServerFixture.BytesA); // corrupt: fetched again, from nowhere that works
            foreach (var target in new[] { "models/c.onnx", "models/d.onnx", "models/e.onnx", "models/b.onnx", "models/unknown.onnx", "nope", "api/models/nope" })
            {
                bodies.Add(await GetAsync(fixture, HttpMethod.Get, target));
            }

            bodies.Add(await GetAsync(fixture, HttpMethod.Post, "models/a.onnx"));
            bodies.Add(await GetAsync(fixture, HttpMethod.Delete, "api/models/cache/info"));
            bodies.Add(await GetAsync(fixture, HttpMethod.Get, "models/a.onnx", range: "bytes=999999999-"));
            bodies.Add(await SendAsync(fixture, fixture.Post("api/models/cache/optimize", token: null)));
            bodies.Add(await SendAsync(fixture, fixture.Post("api/models/cache/clear", "{\"confirm\": false}")));
            bodies.Add(await SendAsync(fixture, fixture.Post("api/models/cache/clear", "not json")));
            bodies.Add(await SendAsync(fixture, fixture.Post("api/models/export")));
            var raw = await fixture.SendRawAsync("GET /models/..%2F..%2Fetc%2Fpasswd HTTP/1.1");
            bodies.Add(("raw ..", raw.Status, raw.Text.Substring(raw.Text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)));
            AssertNoLocalPath(fixture, bodies.Select(b => (b.Request, b.Body)));
        }

        using (var readOnly = new ServerFixture(o => o.ReadOnly = true))
        {
            readOnly.Put(ServerFixture.ModelB, ServerFixture.BytesA);
            bodies.Add(await GetAsync(readOnly, HttpMethod.Get, "models/b.onnx"));
            bodies.Add(await SendAsync(readOnly, readOnly.Post("api/models/cache/optimize")));
            AssertNoLocalPath(readOnly, bodies.Select(b => (b.Request, b.Body)));
        }

        Assert.All(bodies, b =>
        {
            Assert.True(b.Status >= 400, $"{b.Request}: {b.Status}");
            var json = JObject.Parse(b.Body);
            Assert.Equal(new[] { "errorId", "message", "retryable" }, json.Properties().Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Matches("^[A-Z][A-Za-z]+$", (string)json["errorId"]!);
            Assert.False(string.IsNullOrWhiteSpace((string?)json["message"]), b.Request);
            Assert.Equal(JTokenType.Boolean, json["retryable"]!.Type);
        });
        Assert.Contains(bodies, b => b.Status == 502 && b.Request.Contains("c.onnx", StringComparison.Ordinal));
        Assert.Contains(bodies, b => b.Status == 502 && b.Request.Contains("d.onnx", StringComparison.Ordinal));
        Assert.Contains(bodies, b => b.Status == 500 && b.Body.Contains("CachedFileNotVerified", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Info_and_status_name_no_local_path_even_for_a_model_saved_from_a_mirror_folder()
    {
        var mirror = _temp.Combine("mirror");
        Directory.CreateDirectory(mirror);
        File.WriteAllBytes(Path.Combine(mirror, "c.onnx"), BytesC);
        var model = TestModels.Define(BytesC, new Uri("https://example.invalid/c.onnx"), member: "C", fileName: "c.onnx");
        using var fixture = new ServerFixture(o => o.PullThrough = new PullThroughOptions
        {
            Mirrors = new[] { mirror },
            MirrorOnly = true,
            Network = new NetworkOptions { Timeout = TimeSpan.FromSeconds(5), RetryCount = 0 },
        }, new[] { model });
        Assert.Equal(BytesC, await fixture.Http.GetByteArrayAsync("models/c.onnx"));

        var info = await fixture.Http.GetStringAsync("api/models/cache/info");
        var status = await fixture.Http.GetStringAsync("api/models/status");

        AssertNoLocalPath(fixture, new[] { ("info", info), ("status", status) });
        Assert.Equal(3, (int)JObject.Parse(info)["entryCount"]!);
        Assert.Equal(new[] { "Test/A", "Test/B", "Test/C" }, JObject.Parse(status)["entries"]!.Select(e => (string)e["name"]!).OrderBy(n => n));
        Assert.All(JObject.Parse(status)["entries"]!, e => Assert.Equal(JTokenType.Integer, e["size"]!.Type));
    }

    private void AssertNoLocalPath(ServerFixture fixture, IEnumerable<(string Request, string Body)> bodies)
    {
        var roots = Directory.GetDirectories("/").Select(Path.GetFileName).Where(n => !string.IsNullOrEmpty(n)).Select(n => Regex.Escape(n!));
        var absolute = new Regex(@"(?<![\w.:/-])/(" + string.Join("|", roots) + @")(/|\b)|[A-Za-z]:\\|file:/", RegexOptions.IgnoreCase);
        foreach (var (request, body) in bodies)
        {
            Assert.DoesNotContain(fixture.Store.Root, body, StringComparison.Ordinal);
            Assert.DoesNotContain(_temp.Path, body, StringComparison.Ordinal);
            Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), body, StringComparison.Ordinal);
            Assert.DoesNotContain(BytesD.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), body, StringComparison.Ordinal);
            var match = absolute.Match(body);
            Assert.False(match.Success, $"{request} names a local path at '{(match.Success ? body.Substring(Math.Max(0, match.Index - 20), Math.Min(80, body.Length - Math.Max(0, match.Index - 20))) : "")}': {body}");
        }
    }

    private static async Task<(string, int, string)> GetAsync(ServerFixture fixture, HttpMethod method, string target, string? range = null)
    {
        using var request = new HttpRequestMessage(method, target);
        if (range is not null)
        {
            request.Headers.TryAddWithoutValidation("Range", range);
        }

        return await SendAsync(fixture, request);
    }

    private static async Task<(string, int, string)> SendAsync(ServerFixture fixture, HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await fixture.Http.SendAsync(request);
            return ($"{request.Method} {request.RequestUri}", (int)response.StatusCode, Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync()));
        }
    }
}
