using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Server;
using ModelCache.Testing;
using ModelCache.Transfer;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// Pull-through never turns the server into a reader of local files a catalog names: a catalog entry whose url is a
/// local file (in any spelling a catalog accepts) is never read for a client, and a local -Mirror's bytes are sent only
/// once the copy verified. Catalogs are read from JSON text, as every catalog channel reads them.
/// </summary>
public sealed class PullThroughLocalFileTests : IDisposable
{
    private static readonly byte[] Secret = TestModels.RandomBytes(600_000, seed: 77);
    private readonly TempDirectory _secrets = new("modelcache-secret");

    public void Dispose() => _secrets.Dispose();

    public static TheoryData<string> LocalUrlSpellings() => new()
    {
        "file://{0}",
        "{0}",
        "file://localhost{0}",
        "FILE://{0}",
        "file://{1}/sub/../secret.onnx",
        "{1}/./secret.onnx",
    };

    [Theory]
    [MemberData(nameof(LocalUrlSpellings))]
    public async Task A_catalog_url_naming_a_local_file_is_never_read_for_a_client(string spelling)
    {
        var path = _secrets.Combine("secret.onnx");
        File.WriteAllBytes(path, Secret);
        var url = string.Format(System.Globalization.CultureInfo.InvariantCulture, spelling, path, _secrets.Path);
        var model = ReadEntry(url);
        Assert.True(model.Url!.IsFile, $"{url} is a file URL to the catalog");
        using var fixture = new ServerFixture(o => o.PullThrough = Fast(), new[] { model });

        await AssertNotServedAsync(fixture, model);
        Assert.False(File.Exists(fixture.Store.GetModelPath(model)), "nothing was copied into the cache from the catalog's local file");
    }

    [Fact]
    public async Task A_unc_style_catalog_url_is_never_read_and_its_name_is_not_echoed()
    {
        var model = ReadEntry(@"\\fileserver\share\secret.onnx");
        Assert.True(model.Url!.IsFile);
        using var fixture = new ServerFixture(o => o.PullThrough = Fast(), new[] { model });

        var (status, body) = await GetAsync(fixture, model);
        Assert.Equal(502, status);
        Assert.DoesNotContain("fileserver", body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("LocalCatalogUrlRefused", (string)JObject.Parse(body)["message"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("secret.onnx")]
    [InlineData("./models/secret.onnx")]
    [InlineData("../secret.onnx")]
    [InlineData("models\\secret.onnx")]
    public void A_relative_path_is_no_catalog_url(string url)
    {
        var problem = Assert.ThrowsAny<ModelCache.Errors.ModelCacheException>(() => ReadEntry(url));
        Assert.Equal("CatalogInvalid", problem.ErrorId);
    }

    [Fact]
    public async Task A_local_file_url_beside_a_directory_mirror_is_served_only_from_the_mirror()
    {
        var path = _secrets.Combine("secret.onnx");
        File.WriteAllBytes(path, Secret);
        var model = ReadEntry("file://" + path);
        var mirror = _secrets.Combine("mirror");
        Directory.CreateDirectory(mirror);
        using var fixture = new ServerFixture(o => o.PullThrough = Fast(mirror), new[] { model });

        await AssertNotServedAsync(fixture, model);

        File.WriteAllBytes(Path.Combine(mirror, model.FileName), Secret);
        var served = await fixture.Http.GetByteArrayAsync("models/" + model.FileName);
        Assert.Equal(Secret, served);
    }

    [Fact]
    public async Task A_directory_mirror_is_copied_and_verified_before_any_byte_is_sent()
    {
        var big = TestModels.RandomBytes(24 << 20, seed: 78);
        var model = TestModels.Define(big, new Uri("https://example.invalid/big.onnx"), member: "BIG", fileName: "big.onnx");
        var mirror = _secrets.Combine("mirror");
        Directory.CreateDirectory(mirror);
        var corrupt = big.ToArray();
        corrupt[corrupt.Length - 1] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(mirror, model.FileName), corrupt);
        using var fixture = new ServerFixture(o => o.PullThrough = Fast(mirror, mirrorOnly: true), new[] { model });

        // A bad copy: the client gets an error status before any body byte, not a prefix then a cut.
        using (var response = await fixture.Http.GetAsync("models/big.onnx", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain(mirror, body, StringComparison.Ordinal);
            Assert.DoesNotContain(corrupt.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), body, StringComparison.Ordinal);
        }

        File.WriteAllBytes(Path.Combine(mirror, model.FileName), big);
        var served = await fixture.Http.GetByteArrayAsync("models/big.onnx");
        Assert.Equal(model.Sha256, TestModels.Sha256Of(served));
    }

    internal static async Task<(int Status, string Body)> GetAsync(ServerFixture fixture, ModelDefinition model)
    {
        using var response = await fixture.Http.GetAsync("models/" + model.FileName);
        return ((int)response.StatusCode, Encoding.Latin1.GetString(await response.Content.ReadAsByteArrayAsync()));
    }

    private async Task AssertNotServedAsync(ServerFixture fixture, ModelDefinition model)
    {
        foreach (var range in new[] { null, "bytes=0-", "bytes=100-200" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "models/" + model.FileName);
            if (range is not null)
            {
                request.Headers.TryAddWithoutValidation("Range", range);
            }

            using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            byte[] body;
            try
            {
                body = await response.Content.ReadAsByteArrayAsync();
            }
            catch (HttpRequestException)
            {
                body = Array.Empty<byte>();
            }

            Assert.True((int)response.StatusCode >= 400, $"{range ?? "GET"}: HTTP {(int)response.StatusCode}");
            Assert.False(ContainsSlice(body, Secret.AsSpan(0, 64).ToArray()) || ContainsSlice(body, Secret.AsSpan(100, 64).ToArray()),
                "no byte of the local file reaches the client");
            var text = Encoding.Latin1.GetString(body);
            Assert.DoesNotContain(_secrets.Path, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), text, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
            Assert.Equal("UpstreamFailed", (string)JObject.Parse(text)["errorId"]!);
            Assert.False((bool)JObject.Parse(text)["retryable"]!);
        }
    }

    private static bool ContainsSlice(byte[] haystack, byte[] needle) =>
        haystack.Length >= needle.Length && haystack.AsSpan().IndexOf(needle) >= 0;

    private static ModelDefinition ReadEntry(string url)
    {
        var json = new JObject
        {
            ["family"] = "Local",
            ["member"] = "SECRET",
            ["task"] = "face_detection",
            ["fileName"] = "secret.onnx",
            ["url"] = url,
            ["sha256"] = TestModels.Sha256Of(Secret),
            ["size"] = Secret.Length,
        };
        return CatalogReader.ReadEntry(json, "catalog.json", "catalog.json");
    }

    private static PullThroughOptions Fast(string? mirror = null, bool mirrorOnly = false) => new()
    {
        Mirrors = mirror is null ? Array.Empty<string>() : new[] { mirror },
        MirrorOnly = mirrorOnly,
        Network = new NetworkOptions { Timeout = TimeSpan.FromSeconds(10), RetryCount = 0 },
    };
}
