using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using ModelCache.Server;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// The web API as tools consume it: one JSON style, strict request bodies (unknown members, wrong content type, odd
/// JSON, names that are paths), export by Clear-ModelCache's name rule, the endpoint list, /models/ and /api/models.
/// </summary>
public sealed class ServerApiTests
{
    /// <summary>Members whose names are data (task and family names), or a catalog file's own format.</summary>
    private static readonly HashSet<string> DataKeyed = new() { "byTask", "bytesByTask", "byFamily", "bytesByFamily", "catalogEntry" };

    [Theory]
    [InlineData("")]
    [InlineData("api/models")]
    [InlineData("api/models/cache/info")]
    [InlineData("api/models/status")]
    [InlineData("models/")]
    [InlineData("index.json")]
    public async Task Every_JSON_answer_names_its_members_in_camelCase_nested_ones_included(string path)
    {
        using var fixture = new ServerFixture();
        await fixture.Store.ListAsync(fixture.Catalog); // writes the entries' metadata, so status has transfer-less, checked entries too

        using var response = await fixture.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JToken.Parse(await response.Content.ReadAsStringAsync());

        var names = Members(json).ToList();
        Assert.NotEmpty(names);
        Assert.All(names, name => Assert.Matches("^[a-z][A-Za-z0-9]*$", name));
    }

    [Fact]
    public async Task Admin_answers_are_camelCase_too()
    {
        using var fixture = new ServerFixture(o => o.ExportPath = null);
        fixture.Options.ExportPath = fixture.Temp("exports");

        using var optimize = await fixture.Http.SendAsync(fixture.Post("api/models/cache/optimize"));
        using var export = await fixture.Http.SendAsync(fixture.Post("api/models/export", "{\"names\": [\"Test/A\"]}"));
        using var clear = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", "{\"confirm\": true, \"names\": [\"Test/B\"]}"));

        foreach (var response in new[] { optimize, export, clear })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.All(Members(JToken.Parse(await response.Content.ReadAsStringAsync())), name => Assert.Matches("^[a-z][A-Za-z0-9]*$", name));
        }
    }

    [Theory]
    [InlineData("api/models/cache/clear", "{\"confirm\": true, \"nmaes\": [\"Test/A\"]}", "nmaes")]
    [InlineData("api/models/cache/clear", "{\"confirm\": true, \"Confirm\": true}", "Confirm")]
    [InlineData("api/models/export", "{\"path\": \"/tmp/evil.zip\"}", "path")]
    [InlineData("api/models/export", "{\"exportPath\": \"x.zip\"}", "exportPath")]
    [InlineData("api/models/cache/optimize", "{\"quarantine\": false}", "quarantine")]
    [InlineData("api/models/pull", "{\"names\": [\"Test/A\"], \"insecure\": true}", "insecure")]
    public async Task An_unknown_member_is_400_naming_it_and_nothing_runs(string path, string body, string member)
    {
        using var fixture = new ServerFixture();
        fixture.Options.ExportPath = fixture.Temp("exports");

        using var response = await fixture.Http.SendAsync(fixture.Post(path, body));
        var error = JObject.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("RequestBodyUnknownMember", (string)error["errorId"]!);
        Assert.Contains("\"" + member + "\"", (string)error["message"]!, StringComparison.Ordinal);
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
        Assert.False(Directory.Exists(fixture.Temp("exports")));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/jsonx")]
    public async Task A_body_not_declared_as_JSON_is_415(string contentType)
    {
        using var fixture = new ServerFixture();
        var request = fixture.Post("api/models/cache/clear");
        request.Content = new StringContent("{\"confirm\": true}", Encoding.UTF8);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);

        using var response = await fixture.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("RequestBodyNotJson", (string)JObject.Parse(await response.Content.ReadAsStringAsync())["errorId"]!);
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
    }

    [Theory]
    [InlineData("{\"confirm\": true, \"confirm\": true}")]
    [InlineData("[{\"confirm\": true}]")]
    [InlineData("{\"confirm\": true} {\"confirm\": true}")]
    [InlineData("{\"confirm\": true, \"names\": [[[[[[[[[[[[\"x\"]]]]]]]]]]]]}")]
    [InlineData("{\"confirm\": true, \"names\": []}")]
    [InlineData("{\"confirm\": true, \"names\": [\"\"]}")]
    [InlineData("{\"confirm\": true, \"names\": [\"Test/A\\u0000\"]}")]
    [InlineData("{\"confirm\": true, \"names\": [42]}")]
    public async Task Odd_JSON_is_400_with_an_id_and_removes_nothing(string body)
    {
        using var fixture = new ServerFixture();

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("RequestBodyInvalid", (string)JObject.Parse(await response.Content.ReadAsStringAsync())["errorId"]!);
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelB)));
    }

    [Fact]
    public async Task Invalid_UTF8_and_too_many_names_are_400()
    {
        using var fixture = new ServerFixture();
        var request = fixture.Post("api/models/cache/clear");
        request.Content = new ByteArrayContent(new byte[] { (byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)':', (byte)'1', (byte)'}' });
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var many = "{\"confirm\": true, \"names\": [" + string.Join(",", Enumerable.Repeat("\"Test/A\"", RequestBody.MaxNames + 1)) + "]}";

        using var utf8 = await fixture.Http.SendAsync(request);
        using var tooMany = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", many));

        Assert.Equal(HttpStatusCode.BadRequest, utf8.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
    }

    [Fact]
    public async Task A_chunked_body_without_a_length_is_cut_off_at_the_limit_with_413()
    {
        using var fixture = new ServerFixture(o => o.MaxRequestBodyBytes = 4096);
        var request = fixture.Post("api/models/pull");
        var huge = Encoding.UTF8.GetBytes("{\"names\": [\"" + new string('x', 64 * 1024) + "\"]}");
        request.Content = new StreamContent(new NoLengthStream(huge));
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await fixture.Http.SendAsync(request);

        Assert.True(request.Headers.TransferEncodingChunked == true || request.Content.Headers.ContentLength is null);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("RequestBodyTooLarge", (string)JObject.Parse(await response.Content.ReadAsStringAsync())["errorId"]!);
        using var next = await fixture.Http.GetAsync("api/models");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task Export_names_select_by_the_Clear_ModelCache_rule()
    {
        using var fixture = new ServerFixture();
        var folder = fixture.Temp("exports");
        fixture.Options.ExportPath = folder;

        using var member = await fixture.Http.SendAsync(fixture.Post("api/models/export", "{\"names\": [\"B\"]}"));
        using var wildcard = await fixture.Http.SendAsync(fixture.Post("api/models/export", "{\"names\": [\"Test/A*\"], \"export_path\": \"a.zip\"}"));

        Assert.Equal(new[] { "Test/B" }, JObject.Parse(await member.Content.ReadAsStringAsync())["models"]!.Select(m => (string)m!));
        Assert.Equal(new[] { "Test/A" }, JObject.Parse(await wildcard.Content.ReadAsStringAsync())["models"]!.Select(m => (string)m!));
        Assert.True(File.Exists(Path.Combine(folder, "a.zip")));
    }

    [Theory]
    [InlineData("{\"names\": [\"SCRFD/*\"]}", 404, "ModelNotCached")]
    [InlineData("{\"names\": [\"../../etc/passwd\"]}", 404, "ModelNotFound")]
    [InlineData("{\"names\": [\"/etc/passwd\"]}", 404, "ModelNotFound")]
    [InlineData("{\"names\": [\"Nope\"]}", 404, "ModelNotFound")]
    [InlineData("{\"names\": \"Test/A\"}", 400, "RequestBodyInvalid")]
    public async Task Export_names_that_select_no_cached_model_export_nothing(string body, int status, string errorId)
    {
        using var fixture = new ServerFixture();
        var folder = fixture.Temp("exports");
        fixture.Options.ExportPath = folder;

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/export", body));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(errorId, (string)JObject.Parse(await response.Content.ReadAsStringAsync())["errorId"]!);
        Assert.True(!Directory.Exists(folder) || !Directory.EnumerateFileSystemEntries(folder).Any());
    }

    [Fact]
    public async Task Export_with_a_model_in_the_path_and_names_in_the_body_is_400()
    {
        using var fixture = new ServerFixture();
        fixture.Options.ExportPath = fixture.Temp("exports");

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/export/Test/A", "{\"names\": [\"Test/B\"]}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("RequestBodyInvalid", (string)JObject.Parse(await response.Content.ReadAsStringAsync())["errorId"]!);
    }

    [Fact]
    public async Task The_root_lists_every_route_and_the_OpenAPI_document()
    {
        using var fixture = new ServerFixture();

        var root = JObject.Parse(await fixture.Http.GetStringAsync(""));

        Assert.Equal("/openapi.json", (string)root["openapi"]!);
        Assert.Equal(ServerRouter.Routes.Select(r => r.Method + " " + r.Template), root["endpoints"]!.Select(e => (string)e["method"]! + " " + (string)e["path"]!));
        Assert.Contains(root["endpoints"]!, e => (string)e["path"]! == "/api/models/pull" && (bool)e["adminToken"]!);
    }

    [Fact]
    public async Task Models_slash_points_to_the_index_and_the_index_is_there()
    {
        using var fixture = new ServerFixture();

        using var response = await fixture.Http.GetAsync("models/");
        var body = JObject.Parse(await response.Content.ReadAsStringAsync());
        var index = JObject.Parse(await fixture.Http.GetStringAsync(((string)body["index"]!).TrimStart('/')));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, index["models"]!.Count());
    }

    [Fact]
    public async Task Api_models_lists_name_file_size_sha256_and_state_and_no_local_path()
    {
        using var fixture = new ServerFixture();
        var corrupt = (byte[])ServerFixture.BytesB.Clone();
        corrupt[0] ^= 1;
        fixture.Put(ServerFixture.ModelB, corrupt);
        using (await fixture.Http.GetAsync("models/a.onnx"))
        {
        }

        using (await fixture.Http.GetAsync("models/b.onnx"))
        {
        }

        var text = await fixture.Http.GetStringAsync("api/models");
        var models = JObject.Parse(text)["models"]!.ToDictionary(m => (string)m["name"]!);

        Assert.Equal(new[] { "Test/A", "Test/B" }, models.Keys.OrderBy(k => k));
        Assert.Equal(new[] { "file", "name", "sha256", "size", "state" }, ((JObject)models["Test/A"]).Properties().Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal("a.onnx", (string)models["Test/A"]["file"]!);
        Assert.Equal(ServerFixture.BytesA.Length, (long)models["Test/A"]["size"]!);
        Assert.Equal(ServerFixture.ModelA.Sha256.ToLowerInvariant(), (string)models["Test/A"]["sha256"]!);
        Assert.Equal("verified", (string)models["Test/A"]["state"]!);
        Assert.Equal("corrupt", (string)models["Test/B"]["state"]!);
        Assert.DoesNotContain(fixture.Store.Root, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_handler_fault_is_that_requests_500_and_the_next_request_is_served()
    {
        using var fixture = new ServerFixture(o => o.BeforeRoute = path =>
        {
            if (path == "/api/models")
            {
                throw new InvalidOperationException("boom");
            }
        });

        using var failed = await fixture.Http.GetAsync("api/models");
        using var next = await fixture.Http.GetAsync("api/models/cache/info");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("ServerError", (string)JObject.Parse(await failed.Content.ReadAsStringAsync())["errorId"]!);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Contains(fixture.Warnings, w => w.Contains("boom", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Clear_names_that_are_paths_or_unknown_remove_nothing_and_say_why()
    {
        using var fixture = new ServerFixture();

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", "{\"confirm\": true, \"names\": [\"../../etc/passwd\", \"/tmp\", \"SCRFD/*\"]}"));
        var result = JObject.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(result["removed"]!);
        Assert.Contains(result["problems"]!, p => (string)p["errorId"]! == "ModelNotFound");
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelB)));
    }

    [Fact]
    public void A_short_admin_token_is_refused_with_a_cryptographic_generator_as_the_fix()
    {
        var refused = Assert.Throws<ModelCache.Errors.ModelCacheException>(() => AdminToken.FromString("short"));

        Assert.Equal("AdminTokenTooShort", refused.ErrorId);
        Assert.Contains("RandomNumberGenerator]::Create().GetBytes(", refused.RecommendedAction!, StringComparison.Ordinal);
        Assert.Contains("openssl rand -base64 32", refused.RecommendedAction!, StringComparison.Ordinal);
        Assert.DoesNotContain("Get-Random", refused.RecommendedAction!, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Every member name in <paramref name="token"/>, except inside members whose names are data.</summary>
    internal static IEnumerable<string> Members(JToken token)
    {
        switch (token)
        {
            case JObject obj:
                foreach (var property in obj.Properties())
                {
                    yield return property.Name;
                    if (!DataKeyed.Contains(property.Name))
                    {
                        foreach (var name in Members(property.Value))
                        {
                            yield return name;
                        }
                    }
                }

                break;
            case JArray array:
                foreach (var name in array.SelectMany(Members))
                {
                    yield return name;
                }

                break;
        }
    }

    /// <summary>A readable stream that does not tell its length, so the client sends it chunked.</summary>
    private sealed class NoLengthStream : MemoryStream
    {
        public NoLengthStream(byte[] bytes)
            : base(bytes)
        {
        }

        public override bool CanSeek => false;
    }
}
