using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelCache.Configuration;

/// <summary>
/// Acquisition settings that come from the environment (MODELCACHE_OFFLINE, MODELCACHE_MIRROR,
/// MODELCACHE_CATALOG …). Command parameters are applied over them by the caller.
/// </summary>
public sealed class ModelCacheOptions
{
    public ModelCacheOptions(bool offline, IReadOnlyList<string> mirrors, bool mirrorOnly, IReadOnlyList<string> catalogFiles)
    {
        Offline = offline;
        Mirrors = mirrors;
        MirrorOnly = mirrorOnly;
        CatalogFiles = catalogFiles;
    }

    public bool Offline { get; }

    /// <summary>Mirror bases (URLs or directories), tried in order before the catalog URL.</summary>
    public IReadOnlyList<string> Mirrors { get; }

    public bool MirrorOnly { get; }

    /// <summary>User catalog files named by MODELCACHE_CATALOG, in order.</summary>
    public IReadOnlyList<string> CatalogFiles { get; }

    public static ModelCacheOptions FromEnvironment(IEnvironment environment) => new(
        IsTrue(environment.GetVariable(EnvironmentVariables.Offline)),
        SplitList(environment.GetVariable(EnvironmentVariables.Mirror), ';'),
        IsTrue(environment.GetVariable(EnvironmentVariables.MirrorOnly)),
        SplitList(environment.GetVariable(EnvironmentVariables.Catalog), Path.PathSeparator));

    /// <summary>1, true, yes or on (any case) mean true, as HF_HUB_OFFLINE accepts.</summary>
    public static bool IsTrue(string? value) =>
        value is not null && new[] { "1", "true", "yes", "on" }.Contains(value.Trim(), StringComparer.OrdinalIgnoreCase);

    public static IReadOnlyList<string> SplitList(string? value, char separator) =>
        string.IsNullOrWhiteSpace(value)
            ? Array.Empty<string>()
            : value!.Split(separator).Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
}
