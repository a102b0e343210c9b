using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Configuration;
using ModelCache.Transfer;

namespace ModelCache.Operations;

/// <summary>
/// Where models are saved from: each setting from the caller where given (null: not given), from the environment
/// otherwise; MODELCACHE_TOKEN becomes the mirror credential unless one is given.
/// </summary>
public static class SourcePolicy
{
    /// <param name="environment">Supplies MODELCACHE_MIRROR, _OFFLINE, _MIRRORONLY and _TOKEN.</param>
    /// <param name="mirrors">Mirrors as given ('a;b' is split like $env:MODELCACHE_MIRROR); null for the environment's.</param>
    /// <param name="resolvePath">Turns a mirror that is not a URL into a full path (the host's current location applies).</param>
    /// <param name="offline">Null when not given.</param>
    /// <param name="mirrorOnly">Null when not given.</param>
    /// <param name="network">Timeouts and credentials; null for the defaults.</param>
    /// <param name="events">Gets a warning per missing mirror folder and a verbose line with the policy.</param>
    public static SourcePlanner CreatePlanner(IEnvironment environment, IEnumerable<string>? mirrors, Func<string, string> resolvePath, bool? offline, bool? mirrorOnly,
        NetworkOptions? network, IOperationEvents events)
    {
        var options = ModelCacheOptions.FromEnvironment(environment);
        var listed = mirrors?.SelectMany(m => ModelCacheOptions.SplitList(m, ';')).ToArray() ?? options.Mirrors.ToArray();
        var resolved = listed.Select(m => IsUrl(m) ? m : resolvePath(m)).ToList();
        network ??= new NetworkOptions();
        var token = environment.GetVariable(EnvironmentVariables.Token);
        if (network.MirrorCredential is null && !string.IsNullOrEmpty(token))
        {
            network.MirrorCredential = MirrorCredential.Bearer(token!);
        }

        var planner = new SourcePlanner(resolved, mirrorOnly ?? options.MirrorOnly, offline ?? options.Offline, network);
        foreach (var folder in planner.MissingMirrorFolders())
        {
            events.Warning($"The mirror folder '{folder}' does not exist; no model is read from it.");
        }

        events.Verbose($"Mirrors: {(resolved.Count == 0 ? "none" : string.Join(", ", resolved.Select(Shown)))}; offline: {planner.Offline}; mirror-only: {planner.MirrorOnly}");
        return planner;
    }

    private static bool IsUrl(string mirror) =>
        Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeFile);

    private static string Shown(string mirror) =>
        Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && !uri.IsFile ? HttpSource.Redact(uri) : mirror;
}
