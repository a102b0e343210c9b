using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Server;

/// <summary>
/// The model manager's API over one cache: info and status (read-only), optimize, clear and export (POSTs, which the
/// router has already authorized). Changes run one at a time, each through the store's own locked operations.
/// </summary>
internal sealed class AdminApi
{
    private readonly ModelCacheServerOptions _options;
    private readonly SemaphoreSlim _oneChangeAtATime = new(1, 1);

    public AdminApi(ModelCacheServerOptions options)
    {
        _options = options;
    }

    private CacheStore Store => _options.Store;

    private ModelCatalog Catalog => _options.Catalog;

    public CacheSummary Summarize(CancellationToken cancellationToken) =>
        new CacheInspector(Store).Summarize(Catalog, _options.Thresholds, null, cancellationToken);

    /// <summary>
    /// <c>/api/models/cache/info</c>, asked without a token: the summary without the cache root, and its reasons with no
    /// local path. Where the cache lives on the server is the admin's business, not every client's.
    /// </summary>
    public object Info(CancellationToken cancellationToken)
    {
        var info = JObject.FromObject(Summarize(cancellationToken), PublicJson);
        info.Remove(nameof(CacheSummary.Root));
        Redact(info[nameof(CacheSummary.Reasons)]);
        return info;
    }

    /// <summary><c>/api/models/status</c>, asked without a token: every entry, without its path, cache root or a source that is not an http(s) URL.</summary>
    public async Task<object> StatusAsync(CancellationToken cancellationToken)
    {
        var problems = new List<ModelCacheException>();
        var entries = await Store.ListAsync(Catalog, problems, cancellationToken).ConfigureAwait(false);
        var shown = new JArray();
        foreach (var entry in entries)
        {
            var item = JObject.FromObject(entry, PublicJson);
            item.Remove(nameof(ModelCacheEntry.Path));
            item.Remove(nameof(ModelCacheEntry.CacheRoot));
            if (!IsHttp(entry.SourceUrl))
            {
                item[nameof(ModelCacheEntry.SourceUrl)] = null;
            }

            if (item["Transfer"] is JObject transfer && !IsHttp((string?)transfer["SourceUrl"]))
            {
                transfer["SourceUrl"] = null;
            }

            shown.Add(item);
        }

        return new { layout = Store.Layout.Kind, entries = shown, problems = Problems(problems) };
    }

    /// <summary>Optimize-ModelCache with its non-destructive defaults: corrupt files quarantined, not deleted; orphans kept.</summary>
    public Task<object> OptimizeAsync(CancellationToken cancellationToken) => Exclusive(async () =>
    {
        var optimizer = new CacheOptimizer(Store, Catalog);
        var plan = await optimizer.PlanAsync(new CacheOptimizeOptions { Quarantine = true, RemoveOrphans = false }, cancellationToken).ConfigureAwait(false);
        var actions = new List<CacheOptimizeAction>();
        var problems = plan.Problems.ToList();
        var notes = plan.Notes.ToList();
        foreach (var step in plan.Steps)
        {
            try
            {
                if (await optimizer.ExecuteAsync(step, notes.Add, cancellationToken).ConfigureAwait(false) is { } action)
                {
                    actions.Add(action);
                }
            }
            catch (ModelCacheException ex)
            {
                problems.Add(ex);
            }
        }

        return (object)new { actions, bytesFreed = actions.Sum(a => a.BytesFreed), notes, problems = Problems(problems) };
    }, cancellationToken);

    /// <summary>
    /// Removes the named entries (wildcards as Clear-ModelCache takes them), or every entry the layout lets an unnamed
    /// removal take. Pinned entries are always kept: the API has no -Force.
    /// </summary>
    public Task<object> ClearAsync(IReadOnlyList<string> names, CancellationToken cancellationToken) => Exclusive(async () =>
    {
        var problems = new List<ModelCacheException>();
        var entries = await Store.ListAsync(Catalog, problems, cancellationToken).ConfigureAwait(false);
        var selected = new List<ModelCacheEntry>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (names.Count == 0)
        {
            selected.AddRange(entries.Where(Store.MayRemoveUnnamed));
        }
        else
        {
            foreach (var name in names)
            {
                var selection = NameSelector.SelectEntries(Catalog, entries, name, Store.Root);
                if (selection.Error is not null)
                {
                    problems.Add(selection.Error);
                }

                selected.AddRange(selection.Items.Where(e => seen.Add(e.Name)));
            }
        }

        var removed = new List<object>();
        var keptPinned = new List<string>();
        foreach (var entry in selected)
        {
            try
            {
                if (entry.Pinned || !await Store.RemoveUnlessPinnedAsync(entry, cancellationToken).ConfigureAwait(false))
                {
                    keptPinned.Add(entry.Name);
                    continue;
                }

                removed.Add(new { name = entry.Name, path = entry.Path, bytes = entry.Size });
            }
            catch (ModelCacheException ex)
            {
                problems.Add(ex);
            }
        }

        var partialBytes = names.Count == 0 ? await Store.RemoveAbandonedDownloadsAsync(Catalog, cancellationToken).ConfigureAwait(false) : 0;
        return (object)new { removed, keptPinned, partialBytesRemoved = partialBytes, problems = Problems(problems) };
    }, cancellationToken);

    /// <summary>A bundle of every verified catalog entry, written into the export folder under a name the server picks.</summary>
    public Task<object> ExportAsync(string exportPath, CancellationToken cancellationToken) => Exclusive(async () =>
    {
        Directory.CreateDirectory(exportPath);
        var destination = Path.Combine(exportPath, "modelcache-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture) + ".zip");
        var problems = new List<ModelCacheException>();
        var entries = await Store.ListAsync(Catalog, problems, cancellationToken).ConfigureAwait(false);
        var models = new List<(string File, ModelDefinition Model)>();
        foreach (var entry in entries.Where(e => e.InCatalog))
        {
            if (Catalog.TryGet(entry.Name, out var model) && model is not null)
            {
                models.Add((entry.Path, model));
            }
        }

        if (models.Count == 0)
        {
            return (object)new { path = (string?)null, models = Array.Empty<string>(), problems = Problems(problems) };
        }

        var result = await BundleExporter.ExportAsync(models, destination, _options.Tool, null, (_, failure) => problems.Add(failure), cancellationToken).ConfigureAwait(false);
        return new { path = result.Path, manifestSha256 = result.ManifestSha256, models = result.Models, bytes = result.Bytes, problems = Problems(problems) };
    }, cancellationToken);

    /// <summary>Parses a clear request: <c>{"confirm": true, "names": [...]}</c>; null with the reason when it is not one.</summary>
    public static IReadOnlyList<string>? ParseClear(byte[] body, out string? rejection)
    {
        rejection = null;
        JObject request;
        try
        {
            request = JObject.Parse(Encoding.UTF8.GetString(body));
        }
        catch (JsonException)
        {
            rejection = "The body must be a JSON object: {\"confirm\": true, \"names\": [\"Family/Member\"]}.";
            return null;
        }

        if (request["confirm"] is not JValue { Type: JTokenType.Boolean } confirm || !(bool)confirm)
        {
            rejection = "Clearing needs \"confirm\": true in the body.";
            return null;
        }

        var names = new List<string>();
        switch (request["names"])
        {
            case null or { Type: JTokenType.Null }:
                break;
            case JArray array when array.All(n => n.Type == JTokenType.String && ((string)n!).Length > 0):
                names.AddRange(array.Select(n => (string)n!));
                break;
            default:
                rejection = "\"names\" must be an array of model names.";
                return null;
        }

        return names;
    }

    private async Task<object> Exclusive(Func<Task<object>> change, CancellationToken cancellationToken)
    {
        await _oneChangeAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await change().ConfigureAwait(false);
        }
        finally
        {
            _oneChangeAtATime.Release();
        }
    }

    /// <summary>Problems as every error is shown to a client: the id and the message without local paths.</summary>
    private static IEnumerable<object> Problems(IEnumerable<ModelCacheException> problems) =>
        problems.Select(p => new { errorId = p.ErrorId, message = ErrorBody.RedactLocalPaths(p.Message) }).ToList();

    private static readonly JsonSerializer PublicJson = JsonSerializer.Create(new JsonSerializerSettings
    {
        Converters = { new Newtonsoft.Json.Converters.StringEnumConverter() },
        DateParseHandling = DateParseHandling.None,
    });

    private static bool IsHttp(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private static void Redact(JToken? strings)
    {
        foreach (var value in (strings as JArray)?.OfType<JValue>() ?? Enumerable.Empty<JValue>())
        {
            if (value.Type == JTokenType.String)
            {
                value.Value = ErrorBody.RedactLocalPaths((string)value.Value!);
            }
        }
    }
}
