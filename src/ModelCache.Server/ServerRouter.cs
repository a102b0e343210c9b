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
/// (401), then ReadOnly (403), then the body limit (413), then the body's own checks (<see cref="RequestBody"/>: 400/415)
/// before any change runs.
/// </summary>
internal sealed class ServerRouter
{
    // How much of an oversized body is read (and dropped) before its 413, so the answer is not lost to a reset.
    private const long MaxDrainBytes = 1 << 20;

    private readonly ModelCacheServerOptions _options;
    private readonly ModelFileEndpoint _files;
    private readonly MirrorIndex _index;
    private readonly AdminApi _admin;
    private readonly ModelPull _pull;
    private readonly ServerMetrics _metrics;
    private readonly IModelContentSource _source;

    public ServerRouter(ModelCacheServerOptions options, IModelContentSource source, VerifiedModelOpener opener, ServerMetrics metrics)
    {
        _options = options;
        _source = source;
        _files = new ModelFileEndpoint(source, options);
        _index = new MirrorIndex(options, opener);
        _admin = new AdminApi(options);
        _pull = new ModelPull(options, source);
        _metrics = metrics;
    }

    /// <summary>Every route the router serves, in the order GET / lists them; /openapi.json describes exactly these (a test holds them equal).</summary>
    internal static readonly IReadOnlyList<ApiRoute> Routes = new[]
    {
        new ApiRoute("/", "GET", "The endpoints this server answers, and where its OpenAPI document is."),
        new ApiRoute("/openapi.json", "GET", "The OpenAPI 3 document describing every endpoint."),
        new ApiRoute("/models/", "GET", "Points to the mirror's index (/models/index.json)."),
        new ApiRoute("/models/index.json", "GET", "The static mirror's index of the models served."),
        new ApiRoute("/index.json", "GET", "The same index, at the root."),
        new ApiRoute("/models/{fileName}", "GET", "A catalog model's verified bytes (ranges, ETag, Last-Modified); fetched first with pull-through."),
        new ApiRoute("/metrics", "GET", "Prometheus metrics."),
        new ApiRoute("/api/models", "GET", "The cached models: name, file, size, SHA-256, state."),
        new ApiRoute("/api/models/cache/info", "GET", "The cache's summary and health, without local paths."),
        new ApiRoute("/api/models/status", "GET", "Every cache entry, without local paths."),
        new ApiRoute("/api/models/pull", "POST", "Fetches catalog models into the cache, streaming progress as NDJSON.", admin: true),
        new ApiRoute("/api/models/cache/optimize", "POST", "Optimize-ModelCache with its non-destructive defaults.", admin: true),
        new ApiRoute("/api/models/cache/clear", "POST", "Removes entries (confirm required; pinned entries kept).", admin: true),
        new ApiRoute("/api/models/export", "POST", "Writes a bundle of cached models into the export folder.", admin: true),
        new ApiRoute("/api/models/export/{model}", "POST", "Writes a bundle of the models one name selects.", admin: true),
        new ApiRoute("/api/models/export/{family}/{member}", "POST", "Writes a bundle of Family/Member.", admin: true),
    };

    /// <summary>The route <paramref name="segments"/> fall on, or null (<c>/models/</c>, the one template with a trailing slash, is matched by its raw path).</summary>
    internal static ApiRoute? Match(IReadOnlyList<string> segments) => Routes.FirstOrDefault(route =>
        !(route.Template.Length > 1 && route.Template.EndsWith("/", StringComparison.Ordinal))
        && route.Segments.Count == segments.Count
        && route.Segments.Select((part, i) => part.StartsWith("{", StringComparison.Ordinal) || part == segments[i]).All(m => m));

    public async Task RouteAsync(HttpExchange exchange)
    {
        var method = exchange.Request.HttpMethod;
        var raw = exchange.Request.RawUrl;
        var rawPath = raw?.Split('?')[0];
        IReadOnlyList<string> segments = Array.Empty<string>();
        ApiRoute? route;
        if (rawPath == "/models/")
        {
            // The one path with a trailing slash (which the target rules refuse elsewhere): a browser or a client given the mirror URL.
            route = Routes.Single(r => r.Template == rawPath);
        }
        else if (RequestTarget.Parse(raw, out var rejection) is not { } target)
        {
            exchange.Response.KeepAlive = false;
            await exchange.SendErrorAsync(400, "BadRequestTarget", "Refused: " + rejection + ".", method).ConfigureAwait(false);
            return;
        }
        else
        {
            segments = target.Segments;
            route = Match(segments);
        }

        if (route is null || (route.Template == "/models/{fileName}" && _options.Catalog.FindByExactFileName(segments[1]) is null))
        {
            await exchange.SendErrorAsync(404, "NotFound", "No such resource; GET / lists the endpoints, and model files are served under /models/<catalog file name> (see /models/index.json).", method).ConfigureAwait(false);
            return;
        }

        if (route.Admin)
        {
            await ChangeAsync(exchange, method, route, segments).ConfigureAwait(false);
            return;
        }

        if (!await ReadOnlyMethod(exchange, method).ConfigureAwait(false))
        {
            return;
        }

        var token = exchange.Aborting.Token;
        switch (route.Template)
        {
            case "/":
                await exchange.SendJsonAsync(200, Endpoints(), method).ConfigureAwait(false);
                return;
            case "/openapi.json":
                await exchange.SendTextAsync(200, "application/json; charset=utf-8", OpenApiDocument.Text, method).ConfigureAwait(false);
                return;
            case "/models/":
                await exchange.SendJsonAsync(200, new { index = "/models/index.json", message = "This is a model mirror: /models/index.json lists the models, each served at /models/<fileName>." }, method).ConfigureAwait(false);
                return;
            case "/index.json":
            case "/models/index.json":
                await exchange.SendJsonAsync(200, await _index.BuildAsync(token).ConfigureAwait(false), method).ConfigureAwait(false);
                return;
            case "/models/{fileName}":
                await _files.ServeAsync(exchange, _options.Catalog.FindByExactFileName(segments[1])!).ConfigureAwait(false);
                return;
            case "/metrics":
                var text = MetricsWriter.Write(_admin.Summarize(token), _metrics, _source as IUpstreamStats, DateTimeOffset.UtcNow);
                await exchange.SendTextAsync(200, MetricsWriter.ContentType, text, method).ConfigureAwait(false);
                return;
            case "/api/models":
                await exchange.SendJsonAsync(200, await _admin.ListAsync(token).ConfigureAwait(false), method).ConfigureAwait(false);
                return;
            case "/api/models/cache/info":
                await exchange.SendJsonAsync(200, _admin.Info(token), method).ConfigureAwait(false);
                return;
            case "/api/models/status":
                await exchange.SendJsonAsync(200, await _admin.StatusAsync(token).ConfigureAwait(false), method).ConfigureAwait(false);
                return;
            default:
                throw new InvalidOperationException("A route without a handler: " + route.Template);
        }
    }

    private static object Endpoints() => new
    {
        service = "ModelCache site cache server",
        openapi = "/openapi.json",
        endpoints = Routes.Select(r => new { method = r.Method, path = r.Template, summary = r.Summary, adminToken = r.Admin }).ToList(),
    };

    private async Task ChangeAsync(HttpExchange exchange, string method, ApiRoute route, IReadOnlyList<string> segments)
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
            // The connection cannot carry another request; what is left of a body of moderate size is read first so
            // that the client gets the 413 instead of a reset.
            exchange.Response.KeepAlive = false;
            await exchange.DrainBodyAsync(MaxDrainBytes, _options.BodyTimeout).ConfigureAwait(false);
            await exchange.SendErrorAsync(413, "RequestBodyTooLarge", $"Request bodies are limited to {_options.MaxRequestBodyBytes} bytes.", method).ConfigureAwait(false);
            return;
        }

        var contentType = exchange.Request.ContentType;
        var token = exchange.Aborting.Token;
        switch (route.Template)
        {
            case "/api/models/cache/optimize":
                RequestBody.Parse(body, contentType, Array.Empty<string>(), "{}");
                await exchange.SendJsonAsync(200, await _admin.OptimizeAsync(token).ConfigureAwait(false), method).ConfigureAwait(false);
                return;
            case "/api/models/cache/clear":
                var names = AdminApi.ParseClear(RequestBody.Parse(body, contentType, AdminApi.ClearMembers, AdminApi.ClearExample));
                await exchange.SendJsonAsync(200, await _admin.ClearAsync(names, token).ConfigureAwait(false), method).ConfigureAwait(false);
                return;
            case "/api/models/pull":
                await _pull.PullAsync(exchange, RequestBody.Parse(body, contentType, ModelPull.Members, ModelPull.Example)).ConfigureAwait(false);
                return;
            default:
                if (_options.ExportPath is null)
                {
                    await exchange.SendErrorAsync(404, "ExportNotConfigured", "The server was started without -ExportPath.", method).ConfigureAwait(false);
                    return;
                }

                var export = AdminApi.ParseExport(RequestBody.Parse(body, contentType, AdminApi.ExportMembers, AdminApi.ExportExample), _options.ExportPath);
                // The model manager's per-model export: /api/models/export/<model>, where <model> may be Family/Member.
                var model = segments.Count > 3 ? string.Join("/", segments.Skip(3)) : null;
                if (model is not null && export.Names is not null)
                {
                    throw RequestBody.Invalid("Name the models in the path or in \"names\", not both.");
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

/// <summary>One path the server answers: its template (<c>{name}</c> is one segment), method, what it does, and whether it needs the admin token.</summary>
internal sealed class ApiRoute
{
    public ApiRoute(string template, string method, string summary, bool admin = false)
    {
        Template = template;
        Method = method;
        Summary = summary;
        Admin = admin;
        Segments = template.Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries);
    }

    public string Template { get; }

    public string Method { get; }

    public string Summary { get; }

    public bool Admin { get; }

    public IReadOnlyList<string> Segments { get; }
}
