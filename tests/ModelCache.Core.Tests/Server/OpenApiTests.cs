using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using ModelCache.Server;
using ModelCache.Testing;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// GET /openapi.json judged by real tools (<c>tests/interop/openapi/check.mjs</c>: @apidevtools/swagger-parser for the
/// document, ajv for live answers of a running server, errors included), and its paths held equal to the router's.
/// </summary>
public sealed class OpenApiTests
{
    private static string InteropFolder => Path.Combine(TestPaths.RepoRoot, "tests", "interop", "openapi");

    [Fact]
    public async Task Every_route_the_router_serves_is_in_the_document_and_every_documented_route_is_served()
    {
        using var fixture = new ServerFixture();
        fixture.Options.ExportPath = fixture.Temp("exports");
        var document = JObject.Parse(await fixture.Http.GetStringAsync("openapi.json"));

        var documented = ((JObject)document["paths"]!).Properties()
            .SelectMany(p => ((JObject)p.Value).Properties().Where(m => m.Name != "parameters").Select(m => m.Name.ToUpperInvariant() + " " + p.Name))
            .OrderBy(r => r, StringComparer.Ordinal);
        var routed = ServerRouter.Routes.Select(r => r.Method + " " + r.Template).OrderBy(r => r, StringComparer.Ordinal);
        Assert.Equal(routed, documented);

        // Each documented route answers with something other than the router's NotFound (the token is wrong on purpose: nothing changes).
        foreach (var route in ServerRouter.Routes)
        {
            var path = route.Template.Replace("{fileName}", "a.onnx").Replace("{model}", "A").Replace("{family}", "Test").Replace("{member}", "A").TrimStart('/');
            using var response = route.Method == "GET" ? await fixture.Http.GetAsync(path) : await fixture.Http.SendAsync(fixture.Post(path, token: "wrong-token-0123456789"));
            var text = await response.Content.ReadAsStringAsync();
            Assert.False(response.StatusCode == HttpStatusCode.NotFound && text.Contains("\"NotFound\"", StringComparison.Ordinal), $"{route.Method} {route.Template}: {text}");
        }

        using var unknown = await fixture.Http.GetAsync("api/models/nothing");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [SkippableFact]
    public async Task The_document_is_valid_OpenAPI_and_live_answers_match_its_schemas_errors_included()
    {
        var node = RequireValidator();
        var exchanges = new List<object>();
        using (var fixture = new ServerFixture(o => o.PullThrough = new PullThroughOptions { Offline = true }, cacheB: false))
        using (var readOnly = new ServerFixture(o => o.ReadOnly = true))
        {
            fixture.Options.ExportPath = fixture.Temp("exports");
            async Task Record(ServerFixture on, string template, HttpRequestMessage request, int expected)
            {
                using var response = await on.Http.SendAsync(request);
                var body = response.Content.Headers.ContentType?.MediaType == "application/octet-stream" ? string.Empty : await response.Content.ReadAsStringAsync();
                Assert.True((int)response.StatusCode == expected, $"{request.Method} {request.RequestUri}: {(int)response.StatusCode} {body}");
                exchanges.Add(new { method = request.Method.Method, path = template, status = (int)response.StatusCode, contentType = response.Content.Headers.ContentType?.ToString(), body });
            }

            HttpRequestMessage Get(string path, string? range = null)
            {
                var request = new HttpRequestMessage(HttpMethod.Get, path);
                if (range is not null)
                {
                    request.Headers.Range = System.Net.Http.Headers.RangeHeaderValue.Parse(range);
                }

                return request;
            }

            await Record(fixture, "/", Get(""), 200);
            await Record(fixture, "/openapi.json", Get("openapi.json"), 200);
            await Record(fixture, "/models/", Get("models/"), 200);
            await Record(fixture, "/models/index.json", Get("models/index.json"), 200);
            await Record(fixture, "/index.json", Get("index.json"), 200);
            await Record(fixture, "/models/{fileName}", Get("models/a.onnx"), 200);
            await Record(fixture, "/models/{fileName}", Get("models/a.onnx", "bytes=0-9"), 206);
            await Record(fixture, "/models/{fileName}", Get("models/a.onnx", "bytes=999999999-"), 416);
            await Record(fixture, "/models/{fileName}", Get("models/b.onnx"), 502);
            await Record(fixture, "/models/{fileName}", Get("models/nothing.onnx"), 404);
            await Record(fixture, "/metrics", Get("metrics"), 200);
            await Record(fixture, "/api/models", Get("api/models"), 200);
            await Record(fixture, "/api/models", new HttpRequestMessage(HttpMethod.Post, "api/models"), 405);
            await Record(fixture, "/api/models/cache/info", Get("api/models/cache/info"), 200);
            await Record(fixture, "/api/models/status", Get("api/models/status"), 200);

            await Record(fixture, "/api/models/pull", fixture.Post("api/models/pull", "{\"name\": \"Test/A\"}"), 200);
            await Record(fixture, "/api/models/pull", fixture.Post("api/models/pull", "{\"names\": [\"Test/B\"]}"), 200); // offline: error lines
            await Record(fixture, "/api/models/pull", fixture.Post("api/models/pull", "{\"names\": [\"Test/A\"]}", token: null), 401);
            await Record(fixture, "/api/models/pull", fixture.Post("api/models/pull", "{\"names\": [\"https://example.invalid/x.onnx\"]}"), 400);
            await Record(fixture, "/api/models/pull", fixture.Post("api/models/pull", "{\"names\": [\"Nope/Nothing\"]}"), 404);
            await Record(fixture, "/api/models/pull", fixture.Post("api/models/pull", "{\"url\": \"x\"}"), 400);
            await Record(fixture, "/api/models/cache/optimize", fixture.Post("api/models/cache/optimize"), 200);
            var textBody = fixture.Post("api/models/cache/optimize");
            textBody.Content = new StringContent("{}", Encoding.UTF8, "text/plain");
            await Record(fixture, "/api/models/cache/optimize", textBody, 415);
            await Record(fixture, "/api/models/export", fixture.Post("api/models/export", "{\"names\": [\"Test/*\"], \"export_path\": \"all.zip\"}"), 200);
            await Record(fixture, "/api/models/export", fixture.Post("api/models/export", "{\"names\": [\"SCRFD/*\"]}"), 404);
            await Record(fixture, "/api/models/export", fixture.Post("api/models/export", "{\"export_path\": \"../x.zip\"}"), 400);
            await Record(fixture, "/api/models/export", fixture.Post("api/models/export", "{\"names\": [\"" + new string('x', 70_000) + "\"]}"), 413);
            await Record(fixture, "/api/models/export/{model}", fixture.Post("api/models/export/A", "{\"export_path\": \"a.zip\"}"), 200);
            await Record(fixture, "/api/models/export/{family}/{member}", fixture.Post("api/models/export/Test/A", "{\"format\": \"folder\", \"export_path\": \"a\"}"), 200);
            await Record(fixture, "/api/models/export/{family}/{member}", fixture.Post("api/models/export/Test/A", "{\"format\": \"tar\"}"), 400);
            await Record(fixture, "/api/models/cache/clear", fixture.Post("api/models/cache/clear", "{}"), 400);
            await Record(fixture, "/api/models/cache/clear", fixture.Post("api/models/cache/clear", "{\"confirm\": true, \"names\": [\"Test/A\"]}"), 200);
            await Record(readOnly, "/api/models/cache/clear", readOnly.Post("api/models/cache/clear", "{\"confirm\": true}"), 403);
            await Record(readOnly, "/api/models/pull", readOnly.Post("api/models/pull", "{\"name\": \"Test/A\"}"), 403);

            var exchangesFile = fixture.Temp("exchanges.json");
            File.WriteAllText(exchangesFile, JsonConvert.SerializeObject(exchanges));
            var documentFile = fixture.Temp("openapi.json");
            File.WriteAllText(documentFile, await fixture.Http.GetStringAsync("openapi.json"));

            var result = JObject.Parse(Run(node, documentFile, exchangesFile));
            Assert.Empty(result["failures"]!);
            Assert.Equal(exchanges.Count, (int)result["checked"]!);
            Assert.Equal(ServerRouter.Routes.Count, result["operations"]!.Count());
        }
    }

    private static string RequireValidator()
    {
        var node = ExternalTool.Find("node");
        var problem = node is null ? "node is not on PATH (apt install nodejs)"
            : !Directory.Exists(Path.Combine(InteropFolder, "node_modules", "@apidevtools", "swagger-parser")) || !Directory.Exists(Path.Combine(InteropFolder, "node_modules", "ajv"))
                ? "the validators are not installed (run: npm ci --prefix tests/interop/openapi)"
            : null;
        Skip.If(problem is not null && Environment.GetEnvironmentVariable("CI") != "true", $"Cannot judge /openapi.json with an OpenAPI validator: {problem}.");
        Assert.True(problem is null, $"The CI machine (CI=true) must run the OpenAPI interop test, but {problem}.");
        return node!;
    }

    private static string Run(string node, string document, string exchanges)
    {
        var info = new ProcessStartInfo(node) { WorkingDirectory = InteropFolder, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(InteropFolder, "check.mjs"));
        info.ArgumentList.Add(document);
        info.ArgumentList.Add(exchanges);
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "node check.mjs did not finish within a minute.");
        Assert.True(process.ExitCode == 0, $"the OpenAPI check failed ({process.ExitCode}): {output} {error.Result}");
        return output;
    }
}
