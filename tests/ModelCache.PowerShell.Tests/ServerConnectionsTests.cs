using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading.Tasks;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// Start-ModelCacheServer's pull-through honours -ConnectionsPerHost and MODELCACHE_CONNECTIONS_PER_HOST: a model large
/// enough to be fetched in segments, from an nginx that limits each connection (which would earn several connections by
/// default), reaches the upstream over exactly one connection when the cap is 1.
/// </summary>
public sealed class ServerConnectionsTests : IDisposable
{
    private const string FileName = "server_connections_model.onnx";
    private const int ModelSize = (33 << 20) + 4321; // above the 32 MiB a download needs before it is split
    private readonly TempDirectory _temp = new("modelcache-serverconn");
    private readonly string _sha256;

    public ServerConnectionsTests()
    {
        _sha256 = ServedFile.Write(_temp.Combine("upstream"), FileName, ModelSize, seed: 20261207).Sha256;
    }

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("-ConnectionsPerHost 1", "8")] // the parameter wins over the variable
    [InlineData("", "1")]
    public async Task A_cap_of_one_keeps_the_pull_through_on_one_upstream_connection(string parameter, string variable)
    {
        using var nginx = NginxServer.Start(new NginxServerOptions(_temp.Combine("upstream")) { ThrottledLocations = { ["/slow/"] = "16m" } });
        using var server = await SiteServerProcess.StartAsync(_temp, "CAPPED", FileName, nginx.Url("slow/" + FileName), _sha256, ModelSize, parameter,
            new Dictionary<string, string?> { ["MODELCACHE_CONNECTIONS_PER_HOST"] = variable }, TimeSpan.FromSeconds(60));
        var url = server.ModelUrl(FileName);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };

        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_sha256, Convert.ToHexStringLower(SHA256.HashData(body)));
        var upstream = nginx.RequestsFor(FileName);
        var only = Assert.Single(upstream);
        Assert.Equal(200, only.Status);
        server.Process.Kill();
    }
}
