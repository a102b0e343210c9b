using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// Hostile request targets, sent raw over TCP so no client library normalises them: each is refused with 400 (or 404)
/// and never reaches the content source, and nothing outside the cache is ever read.
/// </summary>
public sealed class HostileRequestTests : IDisposable
{
    private readonly RecordingSource _source = new();
    private readonly ServerFixture _fixture;

    public HostileRequestTests()
    {
        _fixture = new ServerFixture(o => o.ContentSource = _source);
        File.WriteAllText(_fixture.Temp("secret.txt"), "TOP-SECRET-CONTENT");
    }

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [InlineData("/models/../x")]
    [InlineData("/models/../../secret.txt")]
    [InlineData("/models/%2e%2e/x")]
    [InlineData("/models/%2E%2E/secret.txt")]
    [InlineData("/models/.%2e/secret.txt")]
    [InlineData("/models/a%2Fb")]
    [InlineData("/models/a%2fb")]
    [InlineData("/models/a%5Cb")]
    [InlineData("/models/a%5cb")]
    [InlineData("/models/..%5c..%5cetc")]
    [InlineData("/models/..\\..\\secret.txt")]
    [InlineData("/models/a.onnx\\")]
    [InlineData("/models/./a.onnx")]
    [InlineData("/models//a.onnx")]
    [InlineData("//models/a.onnx")]
    [InlineData("/models/a.onnx%00")]
    [InlineData("/models/a.onnx%0d%0aX-Injected:%201")]
    [InlineData("/models/%c0%ae%c0%ae/secret.txt")]
    [InlineData("/models/a%")]
    [InlineData("/models/a%zz")]
    [InlineData("/models/%25%32%65%25%32%65/x")]
    public async Task A_hostile_path_is_400_and_never_reaches_the_content_source(string target)
    {
        var (status, text) = await _fixture.SendRawAsync($"GET {target} HTTP/1.1");

        Assert.True(status == 400, $"{target}: {text}");
        Assert.DoesNotContain("TOP-SECRET", text, StringComparison.Ordinal);
        Assert.Empty(_source.Asked);
    }

    [Theory]
    [InlineData("http://evil/x")]
    [InlineData("http://evil/models/a.onnx")]
    [InlineData("*")]
    public async Task An_absolute_or_asterisk_target_is_refused(string target)
    {
        var (status, text) = await _fixture.SendRawAsync($"GET {target} HTTP/1.1");

        Assert.True(status is 400 or 404, $"{target}: {text}");
        Assert.Empty(_source.Asked);
    }

    [Fact]
    public async Task An_overlong_path_is_400()
    {
        var (status, text) = await _fixture.SendRawAsync("GET /models/" + new string('a', 2000) + ".onnx HTTP/1.1");

        Assert.True(status is 400 or 414, text);
        Assert.Empty(_source.Asked);
    }

    [Theory]
    [InlineData("\u0001")]
    [InlineData("\u001f")]
    [InlineData("\u007f")]
    [InlineData("\u0000")]
    public async Task A_raw_control_character_in_the_path_is_400(string control)
    {
        var (status, text) = await _fixture.SendRawAsync($"GET /models/a{control}.onnx HTTP/1.1");

        Assert.True(status == 400 || status == -1, text); // -1: the listener dropped the connection outright.
        Assert.Empty(_source.Asked);
    }

    [Theory]
    [InlineData("/models/secret.txt")]
    [InlineData("/models/A.ONNX")]
    [InlineData("/models/cache/a.onnx")]
    [InlineData("/models/Test/A/a.onnx")]
    [InlineData("/models/models.json")]
    [InlineData("/a.onnx")]
    [InlineData("/models")]
    public async Task A_name_not_in_the_catalog_is_404_and_never_reaches_the_content_source(string target)
    {
        var (status, text) = await _fixture.SendRawAsync($"GET {target} HTTP/1.1");

        Assert.True(status == 404, $"{target}: {text}");
        Assert.Empty(_source.Asked);
    }

    [Fact]
    public async Task A_catalog_name_reaches_the_source_once_and_the_log_has_no_token()
    {
        var (status, _) = await _fixture.SendRawAsync("GET /models/a.onnx?token=secret-in-query HTTP/1.1", $"Authorization: Bearer {ServerFixture.Token}\r\n");

        Assert.Equal(404, status); // The recording source has nothing.
        Assert.Equal(new[] { "a.onnx" }, _source.Asked);
        await Task.Delay(100);
        var line = Assert.Single(_fixture.Log).ToString();
        Assert.StartsWith("GET /models/a.onnx 404 ", line);
        Assert.DoesNotContain("secret", line, StringComparison.Ordinal);
        Assert.DoesNotContain(ServerFixture.Token, string.Join("\n", _fixture.Log.Select(l => l.ToString())), StringComparison.Ordinal);
    }
}
