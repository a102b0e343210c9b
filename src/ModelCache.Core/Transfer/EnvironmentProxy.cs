using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ModelCache.Configuration;

namespace ModelCache.Transfer;

/// <summary>
/// The curl convention for proxies: HTTPS_PROXY / HTTP_PROXY (either case) per scheme, and
/// NO_PROXY as a comma-separated list of hosts, domain suffixes (".example.com" or "example.com"),
/// IP addresses, optional ports, or "*". Applied the same way on every runtime.
/// </summary>
public sealed class EnvironmentProxy : IWebProxy
{
    private readonly Uri? _httpsProxy;
    private readonly Uri? _httpProxy;
    private readonly IReadOnlyList<string> _bypass;

    public EnvironmentProxy(string? httpsProxy, string? httpProxy, string? noProxy)
    {
        _httpsProxy = Parse(httpsProxy);
        _httpProxy = Parse(httpProxy);
        _bypass = (noProxy ?? string.Empty).Split(',').Select(s => s.Trim().ToLowerInvariant()).Where(s => s.Length > 0).ToList();
    }

    public ICredentials? Credentials { get; set; }

    /// <summary>The proxy the environment describes, or null when it names none.</summary>
    public static EnvironmentProxy? FromEnvironment(IEnvironment environment)
    {
        string? Read(string name) => environment.GetVariable(name) ?? environment.GetVariable(name.ToLowerInvariant());
        var proxy = new EnvironmentProxy(Read("HTTPS_PROXY"), Read("HTTP_PROXY"), Read("NO_PROXY"));
        return proxy._httpsProxy is null && proxy._httpProxy is null ? null : proxy;
    }

    public Uri? GetProxy(Uri destination) =>
        IsBypassed(destination) ? destination : destination.Scheme == Uri.UriSchemeHttps ? _httpsProxy ?? destination : _httpProxy ?? destination;

    public bool IsBypassed(Uri host)
    {
        var proxy = host.Scheme == Uri.UriSchemeHttps ? _httpsProxy : _httpProxy;
        if (proxy is null)
        {
            return true;
        }

        var name = host.Host.ToLowerInvariant().Trim('[', ']');
        foreach (var entry in _bypass)
        {
            if (entry == "*")
            {
                return true;
            }

            var (pattern, port) = SplitPort(entry);
            if (port is not null && port != host.Port)
            {
                continue;
            }

            var suffix = pattern.TrimStart('*').TrimStart('.');
            if (name == suffix || name.EndsWith("." + suffix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static (string Pattern, int? Port) SplitPort(string entry)
    {
        var colon = entry.LastIndexOf(':');
        return colon > 0 && entry.IndexOf(':') == colon && int.TryParse(entry.Substring(colon + 1), out var port)
            ? (entry.Substring(0, colon), port)
            : (entry.Trim('[', ']'), null);
    }

    private static Uri? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var text = value!.Trim();
        return Uri.TryCreate(text.Contains("://") ? text : "http://" + text, UriKind.Absolute, out var uri) ? uri : null;
    }
}
