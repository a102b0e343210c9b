using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Transfer;

namespace ModelCache.Operations;

/// <summary>
/// Where models are saved from, resolved: each setting from the caller where given, from the environment otherwise;
/// MODELCACHE_TOKEN becomes the mirror credential unless one is given. Plain data, so a host resolves it on its own
/// thread (paths relative to its current location) and an operation creates the planner when it needs one.
/// </summary>
public sealed class SourcePolicy
{
    private SourcePolicy(IReadOnlyList<string> mirrors, bool offline, bool mirrorOnly, NetworkOptions network)
    {
        Mirrors = mirrors;
        Offline = offline;
        MirrorOnly = mirrorOnly;
        Network = network;
    }

    /// <summary>Mirror URLs and full paths, in order.</summary>
    public IReadOnlyList<string> Mirrors { get; }

    public bool Offline { get; }

    public bool MirrorOnly { get; }

    public NetworkOptions Network { get; }

    /// <param name="environment">Supplies MODELCACHE_MIRROR, _OFFLINE, _MIRRORONLY and _TOKEN.</param>
    /// <param name="mirrors">Mirrors as given ('a;b' is split like $env:MODELCACHE_MIRROR); null for the environment's.</param>
    /// <param name="resolvePath">Turns a mirror that is not a URL into a full path.</param>
    /// <param name="offline">Null when not given.</param>
    /// <param name="mirrorOnly">Null when not given.</param>
    /// <param name="network">Timeouts and credentials; null for the defaults.</param>
    public static SourcePolicy Resolve(IEnvironment environment, IEnumerable<string>? mirrors, Func<string, string> resolvePath, bool? offline, bool? mirrorOnly, NetworkOptions? network)
    {
        var options = ModelCacheOptions.FromEnvironment(environment);
        var listed = mirrors?.SelectMany(m => ModelCacheOptions.SplitList(m, ';')).ToArray() ?? options.Mirrors.ToArray();
        // A registry reference is checked here, so a mistyped one fails before anything is planned.
        var resolved = listed.Select(m => OciReference.IsRegistry(m) ? OciReference.Parse(m).ToString() : IsUrl(m) ? m : resolvePath(m)).ToList();
        network ??= new NetworkOptions();
        var token = environment.GetVariable(EnvironmentVariables.Token);
        if (network.MirrorCredential is null && !string.IsNullOrEmpty(token))
        {
            network.MirrorCredential = MirrorCredential.Bearer(token!);
        }

        if (network.ConnectionsPerHost == 0)
        {
            network.ConnectionsPerHost = ConnectionsPerHostFrom(environment);
        }

        return new SourcePolicy(resolved, offline ?? options.Offline, mirrorOnly ?? options.MirrorOnly, network);
    }

    /// <summary>Most connections a download may open per host.</summary>
    public const int MaxConnectionsPerHost = 64;

    /// <summary>MODELCACHE_CONNECTIONS_PER_HOST (1 to 64), or 0 (the default) when unset.</summary>
    /// <exception cref="ModelCacheException">InvalidConnectionsPerHost: set to anything else.</exception>
    public static int ConnectionsPerHostFrom(IEnvironment environment)
    {
        var text = environment.GetVariable(EnvironmentVariables.ConnectionsPerHost);
        if (string.IsNullOrWhiteSpace(text))
        {
            return 0;
        }

        if (int.TryParse(text!.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= MaxConnectionsPerHost)
        {
            return value;
        }

        throw new ModelCacheException("InvalidConnectionsPerHost", ModelCacheErrorKind.InvalidArgument,
            $"${EnvironmentVariables.ConnectionsPerHost} is '{(text.Length > 20 ? text.Substring(0, 20) + "…" : text)}', not a whole number from 1 to {MaxConnectionsPerHost}.",
            $"Set $env:{EnvironmentVariables.ConnectionsPerHost} to a number from 1 (one connection per download) to {MaxConnectionsPerHost}, or remove it for the default (8).");
    }

    /// <summary>Network settings for a transfer; <paramref name="mirrorCredential"/> is sent to mirror hosts only, as Basic authentication.</summary>
    public static NetworkOptions CreateNetwork(IWebProxy? proxy, NetworkCredential? mirrorCredential, int retryCount, TimeSpan timeout, long maxDownloadSize) => WithAccount(new()
    {
        Proxy = proxy,
        RetryCount = retryCount,
        Timeout = timeout,
        MaxDownloadSize = maxDownloadSize,
    }, mirrorCredential);

    /// <summary>The account for mirrors and registries (Basic, or a registry's token request) on <paramref name="network"/>; none when null.</summary>
    public static NetworkOptions WithAccount(NetworkOptions network, NetworkCredential? account)
    {
        network.MirrorCredential = account is null ? null : MirrorCredential.Basic(account.UserName, account.Password);
        return network;
    }

    /// <summary>The planner; a warning per missing mirror folder and a verbose line with the policy. The caller disposes it.</summary>
    public SourcePlanner CreatePlanner(IOperationEvents events)
    {
        var planner = new SourcePlanner(Mirrors, MirrorOnly, Offline, Network, hubSource: HubSource.Factory());
        foreach (var folder in planner.MissingMirrorFolders())
        {
            events.Warning($"The mirror folder '{folder}' does not exist; no model is read from it.");
        }

        events.Verbose($"Mirrors: {(Mirrors.Count == 0 ? "none" : string.Join(", ", Mirrors.Select(Shown)))}; offline: {planner.Offline}; mirror-only: {planner.MirrorOnly}");
        return planner;
    }

    /// <summary>Throws InvalidRegistryReference for the first oci:// mirror that is not oci://host[:port]/repository.</summary>
    public static void CheckRegistryMirrors(IEnumerable<string> mirrors)
    {
        foreach (var mirror in mirrors.Where(OciReference.IsRegistry))
        {
            OciReference.Parse(mirror);
        }
    }

    private static bool IsUrl(string mirror) =>
        Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeFile);

    private static string Shown(string mirror) =>
        OciReference.IsRegistry(mirror) ? mirror : Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && !uri.IsFile ? HttpSource.Redact(uri) : mirror;
}
