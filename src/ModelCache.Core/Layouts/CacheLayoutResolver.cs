using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using ModelCache.Configuration;
using ModelCache.Locations;

namespace ModelCache.Layouts;

/// <summary>
/// Each layout's default root and the layout object over a root. The native layout follows ModelCache's own
/// precedence (<see cref="CacheLocationResolver"/>); the uniface layout <c>$UNIFACE_CACHE_DIR</c>, else
/// <c>~/.uniface/models</c>, as uniface does. ModelCache's own files for a foreign root (metadata, locks) go to
/// the user's ModelCache folder, one sub-folder per root, so the other tool sees no stray files.
/// </summary>
public sealed class CacheLayoutResolver
{
    private readonly IEnvironment _environment;
    private readonly CacheLocationResolver _native;
    private readonly SettingsStore _userSettings;

    public CacheLayoutResolver(IEnvironment environment, SettingsStore userSettings, string? processRoot, SettingsStore? machineSettings = null,
        IReadOnlyDictionary<string, string>? processModelLocations = null)
    {
        _environment = environment;
        _userSettings = userSettings;
        _native = new CacheLocationResolver(environment, userSettings, processRoot, machineSettings, processModelLocations);
    }

    /// <summary>Models with a folder of their own (see <see cref="CacheLocationResolver.ResolveModelLocations"/>).</summary>
    public ModelLocations ResolveModelLocations() => _native.ResolveModelLocations();

    /// <summary>The root to use for <paramref name="kind"/>: <paramref name="explicitPath"/> when given, else the layout's default.</summary>
    public CacheLocation ResolveRoot(CacheLayoutKind kind, string? explicitPath)
    {
        switch (kind)
        {
            case CacheLayoutKind.Native:
                return _native.Resolve(explicitPath);
            case CacheLayoutKind.Uniface:
                if (!string.IsNullOrWhiteSpace(explicitPath))
                {
                    return new CacheLocation(Path.GetFullPath(explicitPath!.Trim()), CacheLocationSource.Parameter, "-CachePath parameter");
                }

                var unifaceDir = _environment.GetVariable(EnvironmentVariables.UnifaceCacheDir);
                return !string.IsNullOrWhiteSpace(unifaceDir) && Path.IsPathRooted(unifaceDir)
                    ? new CacheLocation(Path.GetFullPath(unifaceDir!), CacheLocationSource.EnvironmentVariable, "$env:" + EnvironmentVariables.UnifaceCacheDir)
                    : new CacheLocation(Path.Combine(_environment.HomeDirectory, ".uniface", "models"), CacheLocationSource.PlatformDefault, "uniface default");
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "The Hugging Face hub cache is not a catalog-model layout.");
        }
    }

    /// <summary>The layout of <paramref name="kind"/> over <paramref name="root"/>.</summary>
    /// <param name="modelLocations">Per-model folders the native layout honours; none when the user named the root with -Path.</param>
    public CacheLayout Open(CacheLayoutKind kind, string root, ModelLocations? modelLocations = null) => kind switch
    {
        CacheLayoutKind.Native => new NativeLayout(root, modelLocations),
        CacheLayoutKind.Uniface => new UnifaceLayout(root, StateDirectoryFor(kind, root)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "The Hugging Face hub cache is not a catalog-model layout."),
    };

    /// <summary>ModelCache's own folder for a foreign root: named by the layout and a hash of the root's full path.</summary>
    public string StateDirectoryFor(CacheLayoutKind kind, string root)
    {
        var fullRoot = Path.GetFullPath(root);
        using var sha = SHA256.Create();
        var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(_environment.IsWindows ? fullRoot.ToUpperInvariant() : fullRoot));
        var id = BitConverter.ToString(hash, 0, 8).Replace("-", string.Empty).ToLowerInvariant();
        return Path.Combine(_userSettings.UserDirectory, "layouts", kind.ToString().ToLowerInvariant() + "-" + id);
    }
}
