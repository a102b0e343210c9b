using System;
using ModelCache.Layouts;

namespace ModelCache.Server;

/// <summary>What Start-ModelCacheServer writes once it listens: where, over which cache, and what it allows.</summary>
public sealed class ModelCacheServerInfo
{
    public ModelCacheServerInfo(ModelCacheServer server, ModelCacheServerOptions options)
    {
        Uri = server.Uri;
        MirrorUri = server.MirrorUri;
        Root = options.Store.Root;
        Layout = options.Store.Layout.Kind;
        ReadOnly = options.ReadOnly;
        AdminEnabled = options.AdminToken is not null && !options.ReadOnly;
        ExportPath = options.ExportPath;
        MaxConnections = options.MaxConnections;
    }

    /// <summary>The base address, with the port actually bound.</summary>
    public Uri Uri { get; }

    /// <summary>The value for MODELCACHE_MIRROR on the other machines.</summary>
    public Uri MirrorUri { get; }

    public string Root { get; }

    public CacheLayoutKind Layout { get; }

    public bool ReadOnly { get; }

    /// <summary>True when the admin POSTs can succeed (a token is set and the server is not read-only).</summary>
    public bool AdminEnabled { get; }

    public string? ExportPath { get; }

    public int MaxConnections { get; }

    public override string ToString() => Uri.ToString();
}
