using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ModelCache.Testing;

/// <summary>The one way the test servers start: Kestrel on a free port of one loopback address, every request to one handler, no logging.</summary>
public static class LoopbackApp
{
    /// <returns>The started app (the caller stops and disposes it) and its base address, ending in '/'.</returns>
    public static async Task<(WebApplication App, Uri Address)> StartAsync(IPAddress address, RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(address, 0));
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync().ConfigureAwait(false);
        var bound = ((IServer)app.Services.GetService(typeof(IServer))!).Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(bound.EndsWith('/') ? bound : bound + "/"));
    }
}
