using System;
using System.IO;
using ModelCache.Configuration;

namespace ModelCache.Locations;

/// <summary>
/// Decides the cache root with tfimm-style precedence: explicit path &gt; process setting &gt; user
/// setting &gt; MODELCACHE_HOME &gt; $XDG_CACHE_HOME/modelcache &gt; platform default.
/// </summary>
public sealed class CacheLocationResolver
{
    private readonly IEnvironment _environment;
    private readonly SettingsStore _userSettings;
    private readonly string? _processRoot;

    public CacheLocationResolver(IEnvironment environment, SettingsStore userSettings, string? processRoot)
    {
        _environment = environment;
        _userSettings = userSettings;
        _processRoot = processRoot;
    }

    public CacheLocation Resolve(string? explicitPath = null)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return new CacheLocation(Normalize(explicitPath!), CacheLocationSource.Parameter, "-Path parameter");
        }

        if (!string.IsNullOrWhiteSpace(_processRoot))
        {
            return new CacheLocation(Normalize(_processRoot!), CacheLocationSource.ProcessSetting, "Set-ModelCacheLocation -Scope Process");
        }

        var userRoot = _userSettings.ReadCacheRoot();
        if (!string.IsNullOrWhiteSpace(userRoot))
        {
            return new CacheLocation(Normalize(userRoot!), CacheLocationSource.UserSetting, $"Set-ModelCacheLocation -Scope User ({_userSettings.SettingsFile})");
        }

        var home = _environment.GetVariable(EnvironmentVariables.Home);
        if (!string.IsNullOrWhiteSpace(home))
        {
            return new CacheLocation(Normalize(home!), CacheLocationSource.EnvironmentVariable, "$env:" + EnvironmentVariables.Home);
        }

        // The XDG spec says relative values are invalid and must be ignored.
        var xdg = _environment.GetVariable(EnvironmentVariables.XdgCacheHome);
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            return new CacheLocation(Path.Combine(Normalize(xdg!), "modelcache"), CacheLocationSource.XdgCacheHome, "$env:" + EnvironmentVariables.XdgCacheHome);
        }

        var platformDefault = _environment.IsWindows
            ? Path.Combine(_environment.LocalApplicationData ?? Path.Combine(_environment.HomeDirectory, "AppData", "Local"), "ModelCache")
            : Path.Combine(_environment.HomeDirectory, ".cache", "modelcache");
        return new CacheLocation(platformDefault, CacheLocationSource.PlatformDefault, "platform default");
    }

    private string Normalize(string path) => Normalize(path, _environment);

    /// <summary>A root as a setting or variable names it (<c>~</c> expanded), made absolute.</summary>
    internal static string Normalize(string path, IEnvironment environment)
    {
        var trimmed = path.Trim();
        if (trimmed == "~" || trimmed.StartsWith("~/", StringComparison.Ordinal) || trimmed.StartsWith("~\\", StringComparison.Ordinal))
        {
            trimmed = Path.Combine(environment.HomeDirectory, trimmed.Length > 2 ? trimmed.Substring(2) : string.Empty);
        }

        return Path.GetFullPath(trimmed);
    }
}
