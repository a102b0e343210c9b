using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Operations;
using ModelCache.Store;
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
        var info = JObject.FromObject(Summarize(cancellationToken), ApiJson.Serializer);
        info.Remove("root");
        Redact(info["reasons"]);
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
            var item = JObject.FromObject(entry, ApiJson.Serializer);
            item.Remove("path");
            item.Remove("cacheRoot");
            if (!IsHttp(entry.SourceUrl))
            {
                item["sourceUrl"] = null;
            }

            if (item["transfer"] is JObject transfer && !IsHttp((string?)transfer["sourceUrl"]))
            {
                transfer["sourceUrl"] = null;
            }

            shown.Add(item);
        }

        return new { layout = Store.Layout.Kind, entries = shown, problems = Problems(problems) };
    }

    /// <summary>
    /// <c>GET /api/models</c>, asked without a token: each cached entry as a client needs it — name, file name, size,
    /// SHA-256 and state — and nothing of where it lies.
    /// </summary>
    public async Task<object> ListAsync(CancellationToken cancellationToken)
    {
        var problems = new List<ModelCacheException>();
        var entries = await Store.ListAsync(Catalog, problems, cancellationToken).ConfigureAwait(false);
        var models = entries.OrderBy(e => e.Name, StringComparer.OrdinalIgnoreCase).Select(e => new
        {
            name = e.Name,
            file = e.FileName,
            size = e.Size,
            sha256 = (e.Sha256 ?? e.ExpectedSha256)?.ToLowerInvariant(),
            state = StateOf(e),
        }).ToList();
        return new { models, problems = Problems(problems) };
    }

    /// <summary>
    /// <c>verified</c>: the last hash check matched and the file has not changed since; <c>corrupt</c>: it did not match;
    /// <c>unverified</c>: never hashed, or changed since; <c>orphan</c>: not a catalog model.
    /// </summary>
    internal static string StateOf(ModelCacheEntry entry) =>
        !entry.InCatalog ? "orphan"
        : entry.LastCheck == EntryCheckResult.Failed ? "corrupt"
        : entry.LastCheck == EntryCheckResult.Passed && entry.ChangedSinceCheck != true ? "verified"
        : "unverified";

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
        var report = await new ClearOperation(_options.Backend, Catalog).RunAsync(new RemovalRequest { Names = names, All = names.Count == 0 }, cancellationToken).ConfigureAwait(false);
        var removed = report.Removed.Select(o => o.Removed).OfType<CachedFile>().Select(f => (object)new { name = f.Name, path = f.Path, bytes = f.Size }).ToList();
        return (object)new { removed, keptPinned = report.KeptPinned, partialBytesRemoved = report.SweptBytes, problems = Problems(report.Problems) };
    }, cancellationToken);

    /// <summary>
    /// A bundle of every verified catalog entry, or of the entries <paramref name="name"/> selects, written into the export
    /// folder under <paramref name="request"/>'s relative name (checked by <see cref="ParseExport"/>), or a name the server picks.
    /// </summary>
    public Task<object> ExportAsync(string exportPath, ExportRequest request, string? name, CancellationToken cancellationToken) => Exclusive(async () =>
    {
        Directory.CreateDirectory(exportPath);
        var destination = request.RelativePath is null
            ? Path.Combine(exportPath, "modelcache-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture) + (request.Folder ? string.Empty : ".zip"))
            : ResolveUnder(exportPath, request.RelativePath);
        var problems = new List<ModelCacheException>();
        var entries = await Store.ListAsync(Catalog, problems, cancellationToken).ConfigureAwait(false);
        IEnumerable<ModelCacheEntry> chosen = entries;
        var names = name is not null ? new[] { name } : request.Names;
        if (names is not null)
        {
            chosen = Select(entries, names);
        }

        var models = new List<(string File, ModelDefinition Model)>();
        foreach (var entry in chosen.Where(e => e.InCatalog))
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

        var parent = Path.GetDirectoryName(destination);
        if (!string.IsNullOrEmpty(parent))
        {
            Directory.CreateDirectory(parent);
        }

        var result = await BundleExporter.ExportAsync(models, destination, _options.Tool, null, (_, failure) => problems.Add(failure), cancellationToken).ConfigureAwait(false);
        return new { path = result.Path, manifestSha256 = result.ManifestSha256, models = result.Models, bytes = result.Bytes, problems = Problems(problems) };
    }, cancellationToken);

    /// <summary>
    /// The entries <paramref name="names"/> select, each by Clear-ModelCache's rule (<see cref="NameSelector.SelectEntries"/>:
    /// a wildcard matches names or members silently, a plain name must resolve); ModelNotCached when none is selected.
    /// </summary>
    private List<ModelCacheEntry> Select(IReadOnlyList<ModelCacheEntry> entries, IReadOnlyList<string> names)
    {
        var chosen = new List<ModelCacheEntry>();
        foreach (var name in names)
        {
            var selection = NameSelector.SelectEntries(Catalog, entries, name, Store.Root);
            if (selection.Error is not null)
            {
                throw selection.Error;
            }

            chosen.AddRange(selection.Items.Where(e => !chosen.Contains(e)));
        }

        if (chosen.Count == 0)
        {
            throw new ModelCacheException("ModelNotCached", ModelCacheErrorKind.NotFound, $"No cached model matches {string.Join(", ", names.Select(n => "'" + n + "'"))}.",
                "See GET /api/models for the cached models.");
        }

        return chosen;
    }

    /// <summary>An export request's body, in the model manager's names: <c>{"names": ["Test/*"], "export_path": "x.zip", "format": "zip"}</c>.</summary>
    internal sealed class ExportRequest
    {
        public string? RelativePath { get; set; }

        public bool Folder { get; set; }

        /// <summary>Names as Clear-ModelCache takes them (wildcards match silently); null exports every verified catalog entry.</summary>
        public IReadOnlyList<string>? Names { get; set; }
    }

    public static readonly string[] ExportMembers = { "names", "export_path", "format" };

    public const string ExportExample = "{\"names\": [\"Family/*\"], \"export_path\": \"name.zip\", \"format\": \"zip\"}";

    /// <summary>
    /// Reads an export body (empty is every default); throws RequestBodyInvalid, ExportFormatInvalid (<c>format</c> not
    /// <c>zip</c> or <c>folder</c>) or ExportPathInvalid (<c>export_path</c> not a relative name inside
    /// <paramref name="exportPath"/>: absolute, <c>..</c>, a backslash, or through a link).
    /// </summary>
    public static ExportRequest ParseExport(JObject json, string exportPath)
    {
        var request = new ExportRequest { Names = RequestBody.Names(json) };
        switch (json["format"])
        {
            case null or { Type: JTokenType.Null }:
                break;
            case JValue { Type: JTokenType.String } format when (string)format! is "zip" or "folder":
                request.Folder = (string)format! == "folder";
                break;
            default:
                throw new ModelCacheException("ExportFormatInvalid", ModelCacheErrorKind.InvalidArgument, "\"format\" must be \"zip\" or \"folder\".", "Send \"format\": \"zip\" or \"folder\", or leave it out (zip).");
        }

        switch (json["export_path"])
        {
            case null or { Type: JTokenType.Null }:
                return request;
            case JValue { Type: JTokenType.String } path when ((string)path!).Length is > 0 and <= 1024:
                request.RelativePath = (string)path!;
                break;
            default:
                throw ExportPathInvalid("must be a file name relative to the server's export folder");
        }

        if (ExportPathProblem(exportPath, request.RelativePath) is { } problem)
        {
            throw ExportPathInvalid(problem);
        }

        if (request.RelativePath.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) == request.Folder)
        {
            throw ExportPathInvalid(request.Folder ? "must not end in .zip for a folder export" : "must end in .zip for a zip export");
        }

        return request;
    }

    private static ModelCacheException ExportPathInvalid(string problem) => new("ExportPathInvalid", ModelCacheErrorKind.InvalidArgument,
        $"\"export_path\" {problem}.", "Give a relative name such as \"site/models.zip\" (a folder name without .zip for \"format\": \"folder\"), or leave it out.");

    /// <summary>Why <paramref name="relative"/> may not name a bundle under <paramref name="root"/>, or null when it may.</summary>
    private static string? ExportPathProblem(string root, string relative)
    {
        if (relative.IndexOfAny(new[] { '\\', '\0', ':' }) >= 0 || relative.Any(char.IsControl))
        {
            return "may not contain backslashes, colons or control characters";
        }

        if (Path.IsPathRooted(relative) || relative.StartsWith("~", StringComparison.Ordinal))
        {
            return "must be relative to the server's export folder";
        }

        var segments = relative.Split('/');
        if (segments.Any(s => s.Length == 0 || s == "." || s == ".."))
        {
            return "may not contain '..', '.' or empty segments";
        }

        // A link anywhere under the export folder could lead outside it: refuse every one rather than judge where it leads.
        var current = Path.GetFullPath(root);
        foreach (var segment in segments)
        {
            current = Path.Combine(current, segment);
            FileAttributes attributes;
            try
            {
                attributes = File.GetAttributes(current); // the link's own attributes, also when it dangles
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                break; // Nothing further exists yet: the export creates it.
            }

            if ((attributes & FileAttributes.ReparsePoint) != 0)
            {
                return "may not pass through a link";
            }
        }

        return null;
    }

    private static string ResolveUnder(string root, string relative) => Path.Combine(Path.GetFullPath(root), relative.Replace('/', Path.DirectorySeparatorChar));

    public static readonly string[] ClearMembers = { "confirm", "names" };

    public const string ClearExample = "{\"confirm\": true, \"names\": [\"Family/Member\"]}";

    /// <summary>Reads a clear request, <c>{"confirm": true, "names": [...]}</c>: the names (none: every entry), or ConfirmationRequired.</summary>
    public static IReadOnlyList<string> ParseClear(JObject request)
    {
        if (request["confirm"] is not JValue { Type: JTokenType.Boolean } confirm || !(bool)confirm)
        {
            throw new ModelCacheException("ConfirmationRequired", ModelCacheErrorKind.InvalidArgument, "Clearing needs \"confirm\": true in the body.",
                "Send " + ClearExample + "; without \"names\" every entry that is not pinned is removed.");
        }

        return RequestBody.Names(request) ?? Array.Empty<string>();
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
