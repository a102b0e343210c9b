using System;
using System.Collections.Generic;
using System.Net;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.Store;

namespace ModelCache.Server;

/// <summary>Everything a <see cref="ModelCacheServer"/> is started with.</summary>
public sealed class ModelCacheServerOptions
{
    public const int DefaultPort = 8080;
    public const int DefaultMaxConnections = 64;
    public const int DefaultMaxConnectionsPerAddress = 16;
    public const int DefaultMaxRequestBodyBytes = 64 * 1024;

    public ModelCacheServerOptions(CacheStore store, ModelCatalog catalog)
    {
        Store = store;
        Catalog = catalog;
    }

    /// <summary>The cache root (and its layout) served and managed.</summary>
    public CacheStore Store { get; }

    /// <summary>The store seen through the backend seam, as Clear-ModelCache sees it: what the admin API's clear plans and removes through.</summary>
    public ICacheBackend Backend
    {
        get => _backend ??= new CatalogCacheBackend(Store);
        set => _backend = value;
    }

    private ICacheBackend? _backend;

    public ModelCatalog Catalog { get; }

    /// <summary>Loopback unless told otherwise; <see cref="IPAddress.Any"/> or <see cref="IPAddress.IPv6Any"/> listen on every address.</summary>
    public IPAddress ListenAddress { get; set; } = IPAddress.Loopback;

    /// <summary>0 picks a free port; <see cref="ModelCacheServer.Uri"/> tells which.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>Refuses every admin POST with 403 (and, with the pull-through engine, fetching).</summary>
    public bool ReadOnly { get; set; }

    /// <summary>Required as a bearer token by every POST; null refuses every POST with 401.</summary>
    public AdminToken? AdminToken { get; set; }

    /// <summary>Where POST /api/models/export writes bundles; null answers that endpoint with 404.</summary>
    public string? ExportPath { get; set; }

    /// <summary>Upstream mirrors for the pull-through source (see <see cref="ServerContentSources"/>).</summary>
    public IReadOnlyList<string> Mirrors { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Turns pull-through on (unless read-only) and says how its fetches connect (offline, mirror-only, network settings;
    /// <see cref="Mirrors"/> when it names none). Null: only models already cached are served.
    /// </summary>
    public PullThroughOptions? PullThrough { get; set; }

    /// <summary>Requests handled at once; the next ones get 503 at once.</summary>
    public int MaxConnections { get; set; } = DefaultMaxConnections;

    /// <summary>
    /// Connections one remote address may hold open at once in the <see cref="ConnectionGate"/> (the next get 503), so
    /// one client cannot take every slot. Keyed on the TCP peer's address; without the gate (behind a proxy, or on
    /// Windows) it does not apply.
    /// </summary>
    public int MaxConnectionsPerAddress { get; set; } = DefaultMaxConnectionsPerAddress;

    /// <summary>Largest request body accepted (admin POSTs); more is 413.</summary>
    public int MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>How long a request body may take to arrive.</summary>
    public TimeSpan BodyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one write to a client may wait: a client that stops reading is dropped after this.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the request headers may take (applied by http.sys on Windows; see README for Linux).</summary>
    public TimeSpan HeaderTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether a <see cref="ConnectionGate"/> enforces the header timeout and connection cap where http.sys does not (Linux,
    /// macOS). It costs about half the throughput on loopback (every byte is relayed once more), so a server that only a
    /// reverse proxy enforcing those limits can reach (nginx's client_header_timeout and limit_conn) turns it off.
    /// </summary>
    public bool ConnectionGate { get; set; } = true;

    /// <summary>How long a stop waits for responses in flight before aborting them.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Written into the index and export manifests, e.g. "ModelCache 0.9.0".</summary>
    public string Tool { get; set; } = "ModelCache";

    /// <summary>Health thresholds of /api/models/cache/info and /metrics.</summary>
    public CacheHealthThresholds Thresholds { get; set; } = new();

    /// <summary>This user's fingerprints, so a restart need not hash every file again; null hashes once per process.</summary>
    public FingerprintStore? Fingerprints { get; set; }

    /// <summary>Where the model bytes come from; null uses <see cref="ServerContentSources.Create"/>.</summary>
    public IModelContentSource? ContentSource { get; set; }

    /// <summary>Called once per request, from any thread.</summary>
    public Action<RequestLogEntry>? RequestLog { get; set; }

    /// <summary>Test seam: runs first for every request the listener hands over (a test may close its response, as the listener itself does).</summary>
    internal Action<HttpListenerContext>? OnAccepted { get; set; }

    /// <summary>Test seam: runs with the request's path before it is routed (a test makes a handler fail by throwing).</summary>
    internal Action<string>? BeforeRoute { get; set; }

    /// <summary>Server-side failures worth an operator's attention (a file that failed verification), from any thread.</summary>
    public Action<string>? Warning { get; set; }
}
