using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Server;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// No request stops the server: body-less requests are empty bodies (RFC 9112 §6.3), a handler's fault is a 500 with an
/// incident in the log, a request the listener itself spoiled is skipped, and one address cannot take every connection.
/// </summary>
public sealed class ServerSurvivalTests
{
    public static IEnumerable<object[]> BodylessRequests() => new[]
    {
        new object[] { "POST /metrics", 405, false },
        new object[] { "PUT /metrics", 405, false },
        new object[] { "POST /index.json", 405, false },
        new object[] { "POST /models/a.onnx", 405, false },
        new object[] { "DELETE /models/a.onnx", 405, false },
        new object[] { "POST /api/models/cache/info", 405, false },
        new object[] { "POST /no/such/path", 404, false },
        new object[] { "POST /api/models/cache/optimize", 401, false },
        new object[] { "POST /api/models/cache/optimize", 200, true },
        new object[] { "POST /api/models/cache/clear", 400, true },
        new object[] { "PUT /api/models/cache/clear", 405, true },
        new object[] { "POST /api/models/export/A", 200, true },
        new object[] { "POST /api/models/export", 200, true },
    };

    [Theory]
    [MemberData(nameof(BodylessRequests))]
    public async Task A_request_without_a_body_gets_the_servers_own_answer_and_the_server_goes_on(string request, int expected, bool withToken)
    {
        using var fixture = new ServerFixture(o => o.ExportPath = Path.Combine(Path.GetTempPath(), "modelcache-bodyless-" + Guid.NewGuid().ToString("N")));
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var (status, text) = await fixture.SendRawAsync(request + " HTTP/1.1", withToken ? $"Authorization: Bearer {ServerFixture.Token}\r\n" : string.Empty);
                Assert.True(status == expected, $"{request}: {text}");
                await AssertServingAsync(fixture);
            }
        }
        finally
        {
            if (fixture.Options.ExportPath is { } exports && Directory.Exists(exports))
            {
                Directory.Delete(exports, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("content-length: {0}\r\n", false)]
    [InlineData("CONTENT-LENGTH:{0}\r\n", false)]
    [InlineData("Transfer-Encoding: chunked\r\n", true)]
    [InlineData("transfer-encoding:chunked\r\n", true)]
    public async Task A_request_that_declares_its_body_keeps_it_however_the_header_is_spelled(string declaration, bool chunked)
    {
        using var fixture = new ServerFixture();
        const string json = "{\"confirm\": true, \"names\": [\"Test/A\"]}";
        var body = chunked ? $"{json.Length:x}\r\n{json}\r\n0\r\n\r\n" : json;
        var request = $"POST /api/models/cache/clear HTTP/1.1\r\nHost: {fixture.Server.Uri.Authority}\r\nConnection: close\r\n"
            + $"Authorization: Bearer {ServerFixture.Token}\r\nContent-Type: application/json\r\n" + string.Format(System.Globalization.CultureInfo.InvariantCulture, declaration, json.Length) + "\r\n" + body;

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, fixture.Server.Uri.Port);
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(request)); // headers and body in one segment
        using var response = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await client.GetStream().CopyToAsync(response, timeout.Token);
        var text = Encoding.ASCII.GetString(response.ToArray());

        Assert.StartsWith("HTTP/1.1 200", text, StringComparison.Ordinal);
        Assert.False(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)), text);
    }

    [Fact]
    public async Task A_body_less_POST_with_a_read_only_server_is_403_and_the_server_goes_on()
    {
        using var fixture = new ServerFixture(o => o.ReadOnly = true);
        foreach (var path in new[] { "/api/models/cache/optimize", "/api/models/cache/clear", "/api/models/export/A" })
        {
            var (status, text) = await fixture.SendRawAsync($"POST {path} HTTP/1.1", $"Authorization: Bearer {ServerFixture.Token}\r\n");
            Assert.True(status == 403, $"{path}: {text}");
            (status, text) = await fixture.SendRawAsync($"POST {path} HTTP/1.1");
            Assert.True(status == 401, $"{path}: {text}");
            await AssertServingAsync(fixture);
        }
    }

    [Fact]
    public async Task Without_the_gate_the_listeners_own_answer_to_a_body_less_POST_does_not_stop_the_server()
    {
        using var fixture = new ServerFixture(o => o.ConnectionGate = false);
        for (var i = 0; i < 5; i++)
        {
            await fixture.SendRawAsync("POST /metrics HTTP/1.1");
            await AssertServingAsync(fixture);
        }
    }

    [Theory]
    [InlineData("invalid")]
    [InlineData("null")]
    [InlineData("argument")]
    [InlineData("io")]
    [InlineData("disposed")]
    [InlineData("cancelled")]
    public async Task A_handler_that_throws_is_a_500_with_an_incident_in_the_log_and_the_server_goes_on(string fault)
    {
        using var fixture = new ServerFixture(o => o.BeforeRoute = path =>
        {
            if (path == "/metrics")
            {
                throw fault switch
                {
                    "invalid" => new InvalidOperationException("injected"),
                    "null" => new NullReferenceException("injected"),
                    "argument" => new ArgumentException("injected"),
                    "io" => new IOException("injected"),
                    "disposed" => new ObjectDisposedException("SomethingOfTheServers", "injected"),
                    _ => new OperationCanceledException("injected"),
                };
            }
        });

        for (var i = 0; i < 3; i++)
        {
            using var failed = await fixture.Http.GetAsync("metrics");
            var text = await failed.Content.ReadAsStringAsync();
            Assert.True(failed.StatusCode == HttpStatusCode.InternalServerError, $"{(int)failed.StatusCode}: {text}");
            Assert.Contains("ServerError", text, StringComparison.Ordinal);
            var incident = System.Text.RegularExpressions.Regex.Match(text, "incident ([0-9a-f]{12})").Groups[1].Value;
            Assert.NotEmpty(incident);
            Assert.Contains(fixture.Warnings, w => w.StartsWith("ServerError " + incident + ":", StringComparison.Ordinal) && w.Contains("injected", StringComparison.Ordinal));
            Assert.DoesNotContain("injected", text, StringComparison.Ordinal); // the details are for the log only
            await AssertServingAsync(fixture);
        }
    }

    [Theory]
    [InlineData(true, "close")]
    [InlineData(true, "abort")]
    [InlineData(true, "throw")]
    [InlineData(false, "close")]
    [InlineData(false, "throw")]
    public async Task A_request_whose_response_the_listener_already_disposed_does_not_stop_the_server(bool gate, string spoil)
    {
        // What the managed listener does with a request it answered itself (its 411 or 400): the server gets it with the
        // response closed. The seam spoils every request for /index.json that way.
        using var fixture = new ServerFixture(o =>
        {
            o.ConnectionGate = gate;
            o.OnAccepted = context =>
            {
                if (context.Request.Url?.AbsolutePath != "/index.json")
                {
                    return;
                }

                switch (spoil)
                {
                    case "close":
                        context.Response.Close();
                        break;
                    case "abort":
                        context.Response.Abort();
                        break;
                    default:
                        throw new InvalidOperationException("injected at accept");
                }
            };
        });

        for (var i = 0; i < 3; i++)
        {
            try
            {
                await fixture.SendRawAsync("GET /index.json HTTP/1.1");
            }
            catch (IOException)
            {
                // A cut connection is a fair answer to a spoiled request.
            }

            await AssertServingAsync(fixture);
        }

        if (spoil == "throw")
        {
            Assert.Contains(fixture.Warnings, w => w.StartsWith("ServerError ", StringComparison.Ordinal) && w.Contains("injected at accept", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Connections_from_one_address_that_never_finish_their_headers_leave_other_addresses_served()
    {
        using var fixture = new ServerFixture(o => o.HeaderTimeout = TimeSpan.FromSeconds(30));
        var attackers = new List<TcpClient>();
        try
        {
            // Far more connections than the server has slots, all from 127.0.0.1, none finishing its headers.
            for (var i = 0; i < 3 * ModelCacheServerOptions.DefaultMaxConnections; i++)
            {
                var client = new TcpClient();
                attackers.Add(client);
                await client.ConnectAsync(IPAddress.Loopback, fixture.Server.Uri.Port);
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "));
            }

            await Task.Delay(1000); // let the refusals (after the gate's short slot wait) go out

            using var probe = ProbeClient(fixture.Server.Uri, IPAddress.Parse("127.0.0.2"));
            for (var i = 0; i < 5; i++)
            {
                using var response = await probe.GetAsync("index.json");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            // The attacker's connections over its share were answered 503 at once.
            var busy = 0;
            foreach (var client in attackers)
            {
                if (client.Available > 0 || await ReadsBusyAsync(client))
                {
                    busy++;
                }
            }

            Assert.Equal(attackers.Count - ModelCacheServerOptions.DefaultMaxConnectionsPerAddress, busy);
        }
        finally
        {
            attackers.ForEach(c => c.Dispose());
        }
    }

    private static async Task<bool> ReadsBusyAsync(TcpClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        try
        {
            var buffer = new byte[64];
            var read = await client.GetStream().ReadAsync(buffer, timeout.Token);
            return read > 0 && Encoding.ASCII.GetString(buffer, 0, read).StartsWith("HTTP/1.1 503", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            return false;
        }
    }

    /// <summary>An HTTP client whose connections come from <paramref name="source"/> (any 127.0.0.0/8 address works on loopback).</summary>
    internal static HttpClient ProbeClient(Uri baseAddress, IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(20) };

    private static async Task AssertServingAsync(ServerFixture fixture)
    {
        using var response = await fixture.Http.GetAsync("api/models/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(JObject.Parse(await response.Content.ReadAsStringAsync())["entries"]);
    }
}
