using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Store;

namespace ModelCache.Server;

/// <summary>
/// Maps a request to its endpoint. The path was judged by <see cref="RequestTarget"/> already; a model file name is
/// looked up in the catalog by exact name and nothing else is ever turned into a path. POSTs pass the bearer token
/// (401), then ReadOnly (403), then the body limit (413) before any change runs.
/// </summary>
internal sealed class ServerRouter
{
    private readonly ModelCacheServerOptions _options;
    private readonly ModelFileEndpoint _files;
    private readonly MirrorIndex _index;
    private readonly AdminApi _admin;
    private readonly ServerMetrics _metrics;
    private readonly IModelContentSource _source;

    public ServerRouter(ModelCacheServerOptions options, IModelContentSource source, VerifiedModelOpener opener, ServerMetrics metrics)
    {
        _options = options;
        _source = source;
        _files = new ModelFileEndpoint(source, options);
        _index = new MirrorIndex(options, opener);
        _admin = new AdminApi(options);
        _metrics = metrics;
    }

    public async Task RouteAsync(HttpExchange exchange)
    {
        var method = exchange.Request.HttpMethod;
        if (RequestTarget.Parse(exchange.Request.RawUrl, out var rejection) is not { } target)
        {
            exchange.Response.KeepAlive = false;
            await exchange.SendErrorAsync(400, "BadRequestTarget", "Refused: " + rejection + ".", method).ConfigureAwait(false);
            return;
        }

        var path = string.Join("/", target.Segments);
        var token = exchange.Aborting.Token;
        switch (path)
        {
            case "index.json":
            case "models/index.json":
                if (await ReadOnlyMethod(exchange, method).ConfigureAwait(false))
                {
                    await exchange.SendJsonAsync(200, await _index.BuildAsync(token).ConfigureAwait(false), method).ConfigureAwait(false);
                }

                return;
            case "metrics":
                if (await ReadOnlyMethod(exchange, method).ConfigureAwait(false))
                {
                    var text = MetricsWriter.Write(_admin.Summarize(token), _metrics, _source as IUpstreamStats, DateTimeOffset.UtcNow);
                    await exchange.SendTextAsync(200, MetricsWriter.ContentType, text, method).ConfigureAwait(false);
                }

                return;
            case "api/models/cache/info":
                if (await ReadOnlyMethod(exchange, method).ConfigureAwait(false))
                {
                    await exchange.SendJsonAsync(200, _admin.Info(token), method).ConfigureAwait(false);
                }

                return;
            case "api/models/status":
                if (await ReadOnlyMethod(exchange, method).ConfigureAwait(false))
                {
                    await exchange.SendJsonAsync(200, await _admin.StatusAsync(token).ConfigureAwait(false), method).ConfigureAwait(false);
                }

                return;
            case "api/models/cache/optimize":
            case "api/models/cache/clear":
            case "api/models/export":
                await ChangeAsync(exchange, method, path, null).ConfigureAwait(false);
                return;
        }

        if (target.Segments.Count > 3 && target.Segments[0] == "api" && target.Segments[1] == "models" && target.Segments[2] == "export")
        {
            // The model manager's per-model export: /api/models/export/<model>, where <model> may be Family/Member.
            await ChangeAsync(exchange, method, "api/models/export", string.Join("/", target.Segments.Skip(3))).ConfigureAwait(false);
            return;
        }

        if (target.Segments.Count == 2 && target.Segments[0] == "models" && _options.Catalog.FindByExactFileName(target.Segments[1]) is { } model)
        {
            if (await ReadOnlyMethod(exchange, method).ConfigureAwait(false))
            {
                await _files.ServeAsync(exchange, model).ConfigureAwait(false);
            }

            return;
        }

        await exchange.SendErrorAsync(404, "NotFound", "No such resource; model files are served under /models/<catalog file name>.", method).ConfigureAwait(false);
    }

    private async Task ChangeAsync(HttpExchange exchange, string method, string path, string? model)
    {
        if (method != "POST")
        {
            exchange.Response.Headers["Allow"] = "POST";
            await exchange.SendErrorAsync(405, "MethodNotAllowed", "Use POST.", method).ConfigureAwait(false);
            return;
        }

        if (_options.AdminToken is null || !_options.AdminToken.Matches(exchange.Request.Headers["Authorization"]))
        {
            exchange.Response.Headers["WWW-Authenticate"] = "Bearer";
            await exchange.SendErrorAsync(401, "AdminTokenRequired", "This call needs 'Authorization: Bearer <admin token>'.", method).ConfigureAwait(false);
            return;
        }

        if (_options.ReadOnly)
        {
            await exchange.SendErrorAsync(403, "ServerReadOnly", "The server was started with -ReadOnly.", method).ConfigureAwait(false);
            return;
        }

        var body = await exchange.ReadBodyAsync(_options.MaxRequestBodyBytes, _options.BodyTimeout).ConfigureAwait(false);
        if (body is null)
        {
            // The rest of the body is not read, so the connection cannot carry another request.
            exchange.Response.KeepAlive = false;
            await exchange.SendErrorAsync(413, "RequestBodyTooLarge", $"Request bodies are limited to {_options.MaxRequestBodyBytes} bytes.", method).ConfigureAwait(false);
            return;
        }

        var token = exchange.Aborting.Token;
        switch (path)
        {
            case "api/models/cache/optimize":
                await exchange.SendJsonAsync(200, await _admin.OptimizeAsync(token).ConfigureAwait(false), method).ConfigureAwait(false);
                return;
            case "api/models/cache/clear":
                if (AdminApi.ParseClear(body, out var rejection) is not { } names)
                {
                    await exchange.SendErrorAsync(400, "ConfirmationRequired", rejection!, method).ConfigureAwait(false);
                    return;
                }

                await exchange.SendJsonAsync(200, await _admin.ClearAsync(names, token).ConfigureAwait(false), method).ConfigureAwait(false);
                return;
            default:
                if (_options.ExportPath is null)
                {
                    await exchange.SendErrorAsync(404, "ExportNotConfigured", "The server was started without -ExportPath.", method).ConfigureAwait(false);
                    return;
                }

                if (AdminApi.ParseExport(body, _options.ExportPath, out var errorId, out var refusal) is not { } export)
                {
                    await exchange.SendErrorAsync(400, errorId!, refusal!, method).ConfigureAwait(false);
                    return;
                }

                await exchange.SendJsonAsync(200, await _admin.ExportAsync(_options.ExportPath, export, model, token).ConfigureAwait(false), method).ConfigureAwait(false);
                return;
        }
    }

    private static async Task<bool> ReadOnlyMethod(HttpExchange exchange, string method)
    {
        if (method is "GET" or "HEAD")
        {
            return true;
        }

        exchange.Response.Headers["Allow"] = "GET, HEAD";
        await exchange.SendErrorAsync(405, "MethodNotAllowed", "Use GET or HEAD.", method).ConfigureAwait(false);
        return false;
    }
}
