using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using ModelCache.Configuration;
using ModelCache.Catalog;

namespace ModelCache.Transfer;

/// <summary>
/// Turns acquisition settings into the ordered list of sources to try for a model: each mirror in
/// order, then the catalog URL unless mirror-only; network sources dropped when offline. Owns the
/// HttpClient shared by the HTTP sources, created on first network use, and the batch's circuit breaker:
/// a host that refuses connections is skipped for every later model planned here.
/// </summary>
public sealed class SourcePlanner : IDisposable
{
    private readonly Lazy<HttpClient> _client;
    private readonly IReadOnlyList<string> _mirrors;
    private readonly Func<HttpClient, TimeSpan, IModelSource>? _hubSource;
    private readonly SourceHealth _health = new();
    private readonly IEnvironment _environment;

    // One connection (transport and authenticator) per registry mirror, so a token is reused by every model of the batch.
    private readonly Dictionary<int, (OciReference Reference, RegistryConnection? Connection)> _registries = new();

    /// <param name="mirrors">Mirror bases: http(s) URLs, oci:// registry references, file URLs or absolute directory paths.</param>
    /// <param name="mirrorOnly">Never fall back to the catalog URL.</param>
    /// <param name="offline">Never open a network connection.</param>
    /// <param name="network">Proxy, credentials, timeouts and retries; defaults when null.</param>
    /// <param name="environment">Where HTTPS_PROXY / HTTP_PROXY / NO_PROXY and DOCKER_CONFIG are read; the process environment when null.</param>
    /// <exception cref="Errors.ModelCacheException">InvalidRegistryReference: an oci:// mirror that is not host[:port]/repository.</exception>
    /// <param name="hubSource">
    /// Makes the source of a hub-hosted model over the shared client (the hub client lives a layer above transfers:
    /// <c>HubSource.Factory</c>); planning a hub model without it, other than from mirrors only, is a programming error.
    /// </param>
    public SourcePlanner(IReadOnlyList<string> mirrors, bool mirrorOnly, bool offline, NetworkOptions? network = null, IEnvironment? environment = null,
        Func<HttpClient, TimeSpan, IModelSource>? hubSource = null)
    {
        _mirrors = mirrors;
        MirrorOnly = mirrorOnly;
        Offline = offline;
        Network = network ?? new NetworkOptions();
        var proxySource = environment ?? SystemEnvironment.Instance;
        _environment = proxySource;
        _client = new Lazy<HttpClient>(() => CreateClient(Network, proxySource));
        for (var i = 0; i < mirrors.Count; i++)
        {
            if (OciReference.IsRegistry(mirrors[i]))
            {
                _registries[i] = (OciReference.Parse(mirrors[i]), null);
            }
        }
        _hubSource = hubSource;
    }

    public bool Offline { get; }

    public bool MirrorOnly { get; }

    public NetworkOptions Network { get; }

    /// <summary>
    /// Whether a <c>file:</c> catalog URL (a bare path in a catalog is one too) is read. True for <c>Save-Model</c>, which
    /// reads as the user who runs it; the site server sets it false, as its clients must never make it read a local file
    /// a catalog names (only a -Mirror its admin gave it).
    /// </summary>
    public bool ReadsLocalCatalogUrls { get; set; } = true;

    public IReadOnlyList<IModelSource> Plan(Catalog.ModelDefinition model)
    {
        var sources = new List<IModelSource>();
        for (var i = 0; i < _mirrors.Count; i++)
        {
            var mirror = _mirrors[i];
            if (_registries.TryGetValue(i, out var registry))
            {
                sources.Add(new RegistrySource(Registry(i), _client.Value, Network.Timeout, _health));
                continue;
            }

            sources.Add(IsHttp(mirror, out var uri)
                ? HttpSource.Mirror(_client.Value, uri!, Network.MirrorCredential, Network.Timeout, _health)
                : DirectorySource.Mirror(ToLocalPath(mirror)));
        }

        // A model known only by its hash (no url, no hub file) has no upstream: the cache or a mirror only.
        if (!MirrorOnly && (model.HuggingFace is not null || model.Url is not null))
        {
            sources.Add(model.HuggingFace is not null ? (_hubSource ?? throw new InvalidOperationException("This planner was made without a hub source factory (HubSource.Factory), so it cannot plan " + model.Name + "."))(_client.Value, Network.Timeout)
                : model.Url!.IsFile ? (ReadsLocalCatalogUrls ? DirectorySource.UpstreamFile() : new RefusedLocalUrlSource())
                : HttpSource.Upstream(_client.Value, Network.Timeout, _health));
        }

        return Offline ? sources.Where(s => !s.IsNetwork).ToList() : sources;
    }

    private RegistryConnection Registry(int mirror)
    {
        lock (_registries)
        {
            var (reference, connection) = _registries[mirror];
            if (connection is null)
            {
                connection = new RegistryConnection(_client.Value, reference, Network, _environment);
                _registries[mirror] = (reference, connection);
            }

            return connection;
        }
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }

    /// <summary>The mirrors that are local folders which do not exist, so the user hears of a mistyped or unmounted mirror once.</summary>
    public IReadOnlyList<string> MissingMirrorFolders() =>
        _mirrors.Where(m => !IsHttp(m, out _) && !OciReference.IsRegistry(m)).Select(ToLocalPath).Where(folder => !Directory.Exists(folder)).ToList();

    private static bool IsHttp(string mirror, out Uri? uri) =>
        Uri.TryCreate(mirror, UriKind.Absolute, out uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private static string ToLocalPath(string mirror) =>
        Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && uri.IsFile ? uri.LocalPath : Path.GetFullPath(mirror);

    internal static HttpClient CreateClient(NetworkOptions network, IEnvironment environment)
    {
        // Redirects are followed by HttpSource, which refuses https→http and keeps credentials on their host.
        var handler = new HttpClientHandler { AllowAutoRedirect = false };
        var proxy = network.Proxy ?? EnvironmentProxy.FromEnvironment(environment);
        if (proxy is not null)
        {
            handler.Proxy = proxy;
            handler.UseProxy = true;
        }

        // The platform's trust plus $env:SSL_CERT_FILE's roots, on every OS; the host name is always checked.
        var trust = CertificateTrust.FromEnvironment(environment);
        handler.ServerCertificateCustomValidationCallback = trust.Callback(network.ServerCertificateValidation);

        // Each read has its own stall timeout; an overall timeout would cut long downloads short.
        var client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("ModelCache/" + typeof(SourcePlanner).Assembly.GetName().Version);
        trust.Attach(client);
        return client;
    }
}
