using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// The model manager's per-model export, POST /api/models/export/&lt;model&gt; with {"export_path", "format"}: the name is
/// relative to -ExportPath and never leaves it; the format is zip or folder.
/// </summary>
public sealed class ModelExportTests : IDisposable
{
    private readonly ServerFixture _fixture;
    private readonly string _exports;

    public ModelExportTests()
    {
        _fixture = new ServerFixture();
        _exports = _fixture.Temp("exports");
        Directory.CreateDirectory(_exports);
        _fixture.Options.ExportPath = _exports;
    }

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [InlineData("A")]
    [InlineData("Test/A")]
    public async Task A_zip_export_of_one_model_is_written_under_the_export_folder(string model)
    {
        using var response = await _fixture.Http.SendAsync(_fixture.Post("api/models/export/" + model, "{\"export_path\": \"x.zip\", \"format\": \"zip\"}"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(new[] { "Test/A" }, JObject.Parse(text)["models"]!.Select(m => (string)m!));
        Assert.True(File.Exists(Path.Combine(_exports, "x.zip")));
    }

    [Fact]
    public async Task A_folder_export_goes_into_a_subfolder_and_a_whole_cache_export_takes_the_same_body()
    {
        using (var folder = await _fixture.Http.SendAsync(_fixture.Post("api/models/export/B", "{\"export_path\": \"site/b-bundle\", \"format\": \"folder\"}")))
        {
            Assert.True(folder.StatusCode == HttpStatusCode.OK, await folder.Content.ReadAsStringAsync());
        }

        Assert.True(File.Exists(Path.Combine(_exports, "site", "b-bundle", "manifest.json")));
        Assert.True(File.Exists(Path.Combine(_exports, "site", "b-bundle", "b.onnx")));

        using var all = await _fixture.Http.SendAsync(_fixture.Post("api/models/export", "{\"export_path\": \"all.zip\"}"));
        var text = await all.Content.ReadAsStringAsync();
        Assert.True(all.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(new[] { "Test/A", "Test/B" }, JObject.Parse(text)["models"]!.Select(m => (string)m!).OrderBy(n => n));
        Assert.True(File.Exists(Path.Combine(_exports, "all.zip")));
    }

    [Theory]
    [InlineData("{\"export_path\": \"/tmp/escaped.zip\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"../escaped.zip\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"a/../../escaped.zip\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"a/./x.zip\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"a//x.zip\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"..\\\\escaped.zip\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"~/escaped.zip\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"x\\u0000.zip\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": 5, \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"link/escaped.zip\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"link\", \"format\": \"folder\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"escaped.tar\", \"format\": \"zip\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"escaped.zip\", \"format\": \"folder\"}", "ExportPathInvalid")]
    [InlineData("{\"export_path\": \"escaped.zip\", \"format\": \"tar\"}", "ExportFormatInvalid")]
    [InlineData("{\"export_path\": \"escaped.zip\", \"format\": \"ZIP\"}", "ExportFormatInvalid")]
    [InlineData("{\"export_path\": \"escaped.zip\", \"format\": 1}", "ExportFormatInvalid")]
    [InlineData("not json", "RequestBodyInvalid")]
    public async Task An_export_path_outside_the_export_folder_or_an_unknown_format_is_400_and_writes_nothing(string body, string errorId)
    {
        var outside = _fixture.Temp("outside");
        Directory.CreateDirectory(outside);
        File.CreateSymbolicLink(Path.Combine(_exports, "link"), outside);

        using var response = await _fixture.Http.SendAsync(_fixture.Post("api/models/export/A", body));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Contains(errorId, text, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        Assert.Equal(new[] { "link" }, Directory.EnumerateFileSystemEntries(_exports).Select(Path.GetFileName));
        Assert.False(File.Exists("/tmp/escaped.zip"));
        Assert.False(File.Exists(_fixture.Temp("escaped.zip")));
    }

    [Fact]
    public async Task An_unknown_model_is_404_and_a_token_is_required()
    {
        using (var unknown = await _fixture.Http.SendAsync(_fixture.Post("api/models/export/NOPE", "{\"export_path\": \"x.zip\", \"format\": \"zip\"}")))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using var anonymous = await _fixture.Http.SendAsync(_fixture.Post("api/models/export/A", "{\"export_path\": \"x.zip\", \"format\": \"zip\"}", token: null));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_exports));
    }
}
