using System;
using System.Collections.Generic;
using ModelCache.Configuration;
using ModelCache.Transfer;

namespace ModelCache.Server;

/// <summary>Where a pull-through fetch looks and how it connects: the settings of <c>Save-Model</c>, for the server.</summary>
public sealed class PullThroughOptions
{
    /// <summary>The server's -Mirror list (http(s) URLs, file URLs, directories), tried in order before the catalog URL.</summary>
    public IReadOnlyList<string> Mirrors { get; set; } = Array.Empty<string>();

    /// <summary>Never fall back to the catalog URL.</summary>
    public bool MirrorOnly { get; set; }

    /// <summary>Never open a network connection: only directory mirrors can feed a fetch.</summary>
    public bool Offline { get; set; }

    /// <summary>Proxy, timeouts, retries and size limits; defaults when null.</summary>
    public NetworkOptions? Network { get; set; }

    /// <summary>Where proxy and hub variables are read; the process environment when null.</summary>
    public IEnvironment? Environment { get; set; }

    /// <summary>How long a fetch waits for another process (a Save-Model on the server machine) saving the same model.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Receives the saver's warnings (retries, a source that failed, a corrupt file replaced); from worker threads.</summary>
    public Action<string>? Warn { get; set; }
}
