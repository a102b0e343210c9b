using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using Newtonsoft.Json.Linq;

namespace ModelCache.Server;

/// <summary>
/// <c>POST /api/models/pull</c>: the site cache fetches catalog models by name, as a request for their files would
/// (pull-through's single flight, sources and saver), and the answer streams progress as newline-delimited JSON, like
/// Ollama's <c>/api/pull</c>: a <c>pulling</c> line as bytes arrive, a <c>verified</c> or <c>error</c> line per model,
/// then one final <c>success</c> or <c>error</c> line. Every fetch is started before the first line is written and runs
/// under the server's stop only, so a client that disconnects leaves them running to their verified end.
/// </summary>
internal sealed class ModelPull
{
    public static readonly string[] Members = { "name", "names" };

    public const string Example = "{\"names\": [\"Family/Member\"]}";

    public const string ContentType = "application/x-ndjson";

    /// <summary>How often a running fetch's progress is looked at, and how long the stream may stay silent (a proxy's read timeout).</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(10);

    private readonly ModelCacheServerOptions _options;
    private readonly IModelContentSource _source;

    public ModelPull(ModelCacheServerOptions options, IModelContentSource source)
    {
        _options = options;
        _source = source;
    }

    /// <summary>The catalog models a pull body names, by the one name rule (wildcards match names or members); never a URL or a path.</summary>
    public IReadOnlyList<ModelDefinition> Resolve(JObject body)
    {
        var names = RequestBody.Names(body) ?? Array.Empty<string>();
        switch (body["name"])
        {
            case null or { Type: JTokenType.Null }:
                break;
            case JToken one when RequestBody.IsName(one) && names.Count == 0:
                names = new[] { (string)one! };
                break;
            default:
                throw RequestBody.Invalid("\"name\" must be one model name, and not given together with \"names\".");
        }

        if (names.Count == 0)
        {
            throw RequestBody.Invalid("Name the models to pull: " + Example + ".");
        }

        var models = new List<ModelDefinition>();
        foreach (var name in names)
        {
            if (name.IndexOf(':') >= 0 || name.IndexOf('\\') >= 0 || name.StartsWith("/", StringComparison.Ordinal) || name.StartsWith("~", StringComparison.Ordinal) || name.Split('/').Any(p => p is "" or "." or ".."))
            {
                throw new ModelCacheException("PullNameInvalid", ModelCacheErrorKind.InvalidArgument,
                    $"'{name}' is a URL or a path; the server pulls catalog models by name only.",
                    "Give a catalog name such as 'Family/Member' (see Get-ModelCatalog on the server); the server's own sources decide where the bytes come from.");
            }

            var selection = NameSelector.SelectModels(_options.Catalog, name);
            if (selection.Error is not null)
            {
                throw selection.Error;
            }

            if (selection.Items.Count == 0)
            {
                throw new ModelCacheException("ModelNotFound", ModelCacheErrorKind.NotFound, $"No catalog model matches '{name}'.", "See Get-ModelCatalog on the server for the names.");
            }

            models.AddRange(selection.Items.Where(m => !models.Contains(m)));
        }

        return models;
    }

    public async Task PullAsync(HttpExchange exchange, JObject body)
    {
        var models = Resolve(body);
        if (_source is not PullThroughContentSource pullThrough)
        {
            throw new ModelCacheException("PullNotConfigured", ModelCacheErrorKind.NotFound,
                "The server fetches nothing: it was started without pull-through.", "Save the models on the server with Save-Model, or start it with pull-through.");
        }

        // Every fetch starts (or is joined) before the first byte of the answer: from here on, no client can stop one.
        var pulls = new List<(ModelDefinition Model, InFlightFetch? Fetch, ModelCacheException? Failure)>();
        foreach (var model in models)
        {
            try
            {
                pulls.Add((model, await pullThrough.PullAsync(model, exchange.Aborting.Token).ConfigureAwait(false), null));
            }
            catch (ModelCacheException ex)
            {
                pulls.Add((model, null, ex));
            }
        }

        exchange.BeginStream(200, ContentType);
        var failures = 0;
        ModelCacheException? first = null;
        foreach (var (model, fetch, failure) in pulls)
        {
            var problem = failure ?? await FollowAsync(exchange, model, fetch).ConfigureAwait(false);
            if (problem is null)
            {
                await WriteAsync(exchange, new { status = "verified", model = model.Name, digest = Digest(model), total = model.Size, completed = model.Size, cached = fetch is null }).ConfigureAwait(false);
                continue;
            }

            failures++;
            first ??= problem;
            await WriteAsync(exchange, new { status = "error", model = model.Name, errorId = problem.ErrorId, message = ErrorBody.RedactLocalPaths(problem.Message), retryable = ErrorBody.IsRetryable(problem) }).ConfigureAwait(false);
        }

        if (first is null)
        {
            await WriteAsync(exchange, new { status = "success" }).ConfigureAwait(false);
        }
        else
        {
            await WriteAsync(exchange, new
            {
                status = "error",
                errorId = failures == 1 ? first.ErrorId : "PullFailed",
                message = ErrorBody.RedactLocalPaths(failures == 1 ? first.Message : $"{failures} of {pulls.Count} models were not pulled; their lines say why."),
                retryable = ErrorBody.IsRetryable(first),
            }).ConfigureAwait(false);
        }

        exchange.Close();
    }

    /// <summary>Writes <c>pulling</c> lines while <paramref name="fetch"/> runs; its failure when it ends without a verified file.</summary>
    private async Task<ModelCacheException?> FollowAsync(HttpExchange exchange, ModelDefinition model, InFlightFetch? fetch)
    {
        if (fetch is null)
        {
            return null; // cached and verified already
        }

        long? shown = null;
        var quiet = Stopwatch.StartNew();
        while (true)
        {
            var completed = fetch.Completion.IsCompleted;
            var available = fetch.Staged.Take().Available;
            if (!completed && (available != shown || quiet.Elapsed >= KeepAlive))
            {
                await WriteAsync(exchange, new { status = "pulling", model = model.Name, digest = Digest(model), total = model.Size, completed = available }).ConfigureAwait(false);
                shown = available;
                quiet.Restart();
            }

            if (completed)
            {
                return fetch.Failed ? fetch.Failure() : null;
            }

            await Task.WhenAny(fetch.Completion, Task.Delay(Tick, exchange.Aborting.Token)).ConfigureAwait(false);
            exchange.Aborting.Token.ThrowIfCancellationRequested();
        }
    }

    private static string Digest(ModelDefinition model) => "sha256:" + model.Sha256.ToLowerInvariant();

    private Task WriteAsync(HttpExchange exchange, object line)
    {
        var bytes = Encoding.UTF8.GetBytes(ApiJson.Line(line));
        return exchange.WriteAsync(bytes, 0, bytes.Length, _options.IdleTimeout);
    }
}
