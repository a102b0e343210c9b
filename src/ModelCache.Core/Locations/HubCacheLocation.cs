using System.IO;
using ModelCache.Configuration;

namespace ModelCache.Locations;

/// <summary>Where the hub's own clients keep their cache, by the same rules as huggingface_hub.</summary>
public static class HubCacheLocation
{
    /// <summary>
    /// <c>HF_HUB_CACHE</c>, else <c>HUGGINGFACE_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, where <c>HF_HOME</c>
    /// defaults to <c>$XDG_CACHE_HOME/huggingface</c>, else <c>~/.cache/huggingface</c>. Always a full path.
    /// </summary>
    public static string Resolve(IEnvironment environment) =>
        Path.GetFullPath(Read(environment, EnvironmentVariables.HfHubCache)
            ?? Read(environment, EnvironmentVariables.HuggingFaceHubCache)
            ?? Path.Combine(HubHome(environment), "hub"));

    /// <summary><c>HF_HOME</c> or its default.</summary>
    public static string HubHome(IEnvironment environment) =>
        Read(environment, EnvironmentVariables.HfHome)
        ?? Path.Combine(Read(environment, EnvironmentVariables.XdgCacheHome) ?? Path.Combine(environment.HomeDirectory, ".cache"), "huggingface");

    private static string? Read(IEnvironment environment, string name)
    {
        var value = environment.GetVariable(name);
        return string.IsNullOrWhiteSpace(value) ? null : ExpandHome(value!.Trim(), environment);
    }

    /// <summary>A leading <c>~</c> means the home folder, as Python's expanduser does.</summary>
    private static string ExpandHome(string path, IEnvironment environment) =>
        path == "~" ? environment.HomeDirectory
        : path.StartsWith("~/", System.StringComparison.Ordinal) || path.StartsWith("~\\", System.StringComparison.Ordinal) ? Path.Combine(environment.HomeDirectory, path.Substring(2))
        : path;
}
