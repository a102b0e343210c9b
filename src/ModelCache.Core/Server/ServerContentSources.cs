using ModelCache.Integrity;
using ModelCache.Store;

namespace ModelCache.Server;

/// <summary>The one place that picks where the server's model bytes come from.</summary>
public static class ServerContentSources
{
    /// <summary>
    /// Verified files of the options' cache. The mirrors in <see cref="ModelCacheServerOptions.Mirrors"/> are kept for the
    /// pull-through source, which is chosen here once it exists; until then a model that is not cached is a 404.
    /// </summary>
    public static IModelContentSource Create(ModelCacheServerOptions options, VerifiedModelOpener opener, FingerprintStore? fingerprints) =>
        new CachedContentSource(options.Store, opener, fingerprints);
}
