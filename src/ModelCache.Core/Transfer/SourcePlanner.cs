using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;

namespace ModelCache.Transfer;

/// <summary>
/// Turns acquisition settings into the ordered list of sources to try for a model: each mirror in
/// order, then the catalog URL unless mirror-only; network sources dropped when offline. Owns the
/// HttpClient shared by the HTTP sources.
/// </summary>
public sealed class SourcePlanner : IDisposable
{
    private readonly Lazy<HttpClient> _client;
    private readonly IReadOnlyList<string> _mirrors;

    /// <param name="mirrors">Mirror bases: http(s) URLs, file URLs or absolute directory paths.</param>
    /// <param name="mirrorOnly">Never fall back to the catalog URL.</param>
    /// <param name="offline">Never open a network connection.</param>
    /// <param name="createClient">Builds the HttpClient on first network use; tests and proxies plug in here.</param>
    public SourcePlanner(IReadOnlyList<string> mirrors, bool mirrorOnly, bool offline, Func<HttpClient>? createClient = null)
    {
        _mirrors = mirrors;
        MirrorOnly = mirrorOnly;
        Offline = offline;
        _client = new Lazy<HttpClient>(createClient ?? CreateDefaultClient);
    }

    public bool Offline { get; }

    public bool MirrorOnly { get; }

    public IReadOnlyList<IModelSource> Plan(Catalog.ModelDefinition model)
    {
        var sources = new List<IModelSource>();
        foreach (var mirror in _mirrors)
        {
            sources.Add(IsHttp(mirror, out var uri) ? HttpSource.Mirror(_client.Value, uri!) : DirectorySource.Mirror(ToLocalPath(mirror)));
        }

        if (!MirrorOnly)
        {
            sources.Add(model.Url.IsFile ? DirectorySource.UpstreamFile() : HttpSource.Upstream(_client.Value));
        }

        return Offline ? sources.Where(s => !s.IsNetwork).ToList() : sources;
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }

    private static bool IsHttp(string mirror, out Uri? uri) =>
        Uri.TryCreate(mirror, UriKind.Absolute, out uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private static string ToLocalPath(string mirror) =>
        Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && uri.IsFile ? uri.LocalPath : Path.GetFullPath(mirror);

    private static HttpClient CreateDefaultClient()
    {
        // Body reads have their own stall timeout; the overall timeout must not cut long downloads short.
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true }) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("ModelCache/" + typeof(SourcePlanner).Assembly.GetName().Version);
        return client;
    }
}
