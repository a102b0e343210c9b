using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// Start-ModelCacheServer in a real child pwsh on 127.0.0.1, in front of a rate-limited nginx upstream: 50 clients ask
/// for a model the server has not cached; nginx's own access log must show exactly one upstream request.
/// </summary>
public sealed class ServerProcessTests : IDisposable
{
    private const string FileName = "server_process_model.onnx";
    private const int ModelSize = (4 << 20) + 4321;
    private readonly TempDirectory _temp = new("modelcache-serverproc");
    private readonly string _sha256;

    public ServerProcessTests()
    {
        _sha256 = ServedFile.Write(_temp.Combine("upstream"), FileName, ModelSize, seed: 20261201).Sha256; // served throttled under /slow/
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Fifty_clients_through_a_server_process_cause_one_upstream_request_and_every_body_verifies()
    {
        using var nginx = NginxServer.Start(new NginxServerOptions(_temp.Combine("upstream")) { ThrottledLocations = { ["/slow/"] = "4m" } });
        // Fifty machines of a site, here all on 127.0.0.1: the per-address cap is raised to the server's connection cap.
        using var server = await SiteServerProcess.StartAsync(_temp, "PULLED", FileName, nginx.Url("slow/" + FileName), _sha256, ModelSize, "-MaxConnectionsPerAddress 64",
            null, TimeSpan.FromSeconds(60));
        var url = server.ModelUrl(FileName);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };

        var bodies = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body.Take(2000).ToArray())}");
            return body;
        })));

        Assert.All(bodies, body => Assert.Equal(_sha256, Convert.ToHexStringLower(SHA256.HashData(body))));
        var upstream = nginx.RequestsFor(FileName);
        Assert.Single(upstream);
        Assert.True(File.Exists(Path.Combine(SiteServerProcess.CacheOf(_temp), "models", "Site", "PULLED", FileName)), "the server kept the verified file");
        server.Process.Kill();
    }
}
