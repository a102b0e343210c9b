using System;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Locations;

namespace ModelCache.Catalog;

/// <summary>
/// How to reach and write a hub cache: the endpoint, the token, offline mode and whether links may be
/// made. <see cref="FromEnvironment"/> reads the variables huggingface_hub reads; callers may override.
/// </summary>
public sealed class HubSettings
{
    /// <summary>The public hub, used when <c>HF_ENDPOINT</c> is unset.</summary>
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co");

    public HubSettings(string cacheRoot, Uri? endpoint = null, string? token = null, bool offline = false, bool disableSymlinks = false)
    {
        CacheRoot = cacheRoot;
        Endpoint = endpoint ?? DefaultEndpoint;
        Token = string.IsNullOrWhiteSpace(token) ? null : token!.Trim();
        Offline = offline;
        DisableSymlinks = disableSymlinks;
    }

    /// <summary>The hub cache root (<c>HF_HUB_CACHE</c> …).</summary>
    public string CacheRoot { get; }

    /// <summary>Base URL of the hub (<c>HF_ENDPOINT</c>).</summary>
    public Uri Endpoint { get; }

    /// <summary>Sent as <c>Authorization: Bearer</c> to <see cref="Endpoint"/>'s host only (<c>HF_TOKEN</c>).</summary>
    public string? Token { get; }

    /// <summary>No HTTP at all (<c>HF_HUB_OFFLINE</c> or <c>TRANSFORMERS_OFFLINE</c>).</summary>
    public bool Offline { get; }

    /// <summary>Copy blobs into snapshots instead of linking (<c>HF_HUB_DISABLE_SYMLINKS</c>).</summary>
    public bool DisableSymlinks { get; }

    /// <summary>The settings the environment describes; <paramref name="cacheRoot"/> replaces the default root when given.</summary>
    public static HubSettings FromEnvironment(IEnvironment environment, string? cacheRoot = null)
    {
        var endpointText = environment.GetVariable(EnvironmentVariables.HfEndpoint);
        Uri? endpoint = null;
        if (!string.IsNullOrWhiteSpace(endpointText) &&
            (!Uri.TryCreate(endpointText!.Trim().TrimEnd('/'), UriKind.Absolute, out endpoint) || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp)))
        {
            throw new ModelCacheException("HubEndpointInvalid", ModelCacheErrorKind.InvalidArgument,
                $"HF_ENDPOINT '{endpointText}' is not an http or https URL.", "Set HF_ENDPOINT to the hub's base URL, e.g. https://huggingface.co, or remove it.");
        }

        return new HubSettings(
            cacheRoot ?? HubCacheLocation.Resolve(environment),
            endpoint,
            environment.GetVariable(EnvironmentVariables.HfToken),
            ModelCacheOptions.IsTrue(environment.GetVariable(EnvironmentVariables.HfHubOffline)) || ModelCacheOptions.IsTrue(environment.GetVariable(EnvironmentVariables.TransformersOffline)),
            ModelCacheOptions.IsTrue(environment.GetVariable(EnvironmentVariables.HfHubDisableSymlinks)));
    }

    /// <summary>A copy with offline mode set, e.g. from <c>-Offline</c>.</summary>
    public HubSettings WithOffline(bool offline) => new(CacheRoot, Endpoint, Token, offline, DisableSymlinks);

    /// <summary>A copy writing into another root, e.g. from <c>-Path</c>.</summary>
    public HubSettings WithCacheRoot(string cacheRoot) => new(cacheRoot, Endpoint, Token, Offline, DisableSymlinks);

    /// <summary>Never reveals the token.</summary>
    public override string ToString() => $"{Endpoint} (token {(Token is null ? "none" : "***")}, offline {Offline}) → {CacheRoot}";
}
