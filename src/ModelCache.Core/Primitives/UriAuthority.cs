using System;

namespace ModelCache.Primitives;

/// <summary>The one rule for where credentials may go: a mirror's, a registry's or the hub's token only to its own authority.</summary>
internal static class UriAuthority
{
    /// <summary>Same scheme, host and port (a redirect to another port or to plain HTTP is another authority).</summary>
    public static bool Same(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
}
