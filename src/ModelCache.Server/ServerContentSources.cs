using ModelCache.Integrity;
using ModelCache.Store;

namespace ModelCache.Server;

/// <summary>The one place that picks where the server's model bytes come from.</summary>
public static class ServerContentSources
{
    /// <summary>
    /// Verified files of the options' cache; with pull-through options and unless the server is read-only, a model that is
    /// not cached (or not valid) is fetched once from upstream (the mirrors, then the catalog URL) through the saver and
    /// streamed as it arrives.
    /// </summary>
    public static IModelContentSource Create(ModelCacheServerOptions options, VerifiedModelOpener opener, FingerprintStore? fingerprints)
    {
        var cached = new CachedContentSource(options.Store, opener, fingerprints);
        if (options.ReadOnly || options.PullThrough is not { } pullThrough)
        {
            return cached;
        }

        if (pullThrough.Mirrors.Count == 0)
        {
            pullThrough.Mirrors = options.Mirrors;
        }

        pullThrough.Warn ??= options.Warning;
        return new PullThroughContentSource(options.Store, cached, pullThrough);
    }
}
