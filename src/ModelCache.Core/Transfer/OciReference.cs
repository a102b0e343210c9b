using System;
using System.Net;
using System.Text.RegularExpressions;
using ModelCache.Errors;

namespace ModelCache.Transfer;

/// <summary>
/// A registry used as a mirror: <c>oci://host[:port]/repository</c>. A catalog model is the blob
/// <c>sha256:&lt;catalog hash&gt;</c> of the repository. HTTPS, except that a loopback host (127.0.0.0/8, ::1, localhost) or one
/// listed in MODELCACHE_INSECURE_REGISTRIES may be spoken to in plain HTTP when it does not speak TLS: Parse assumes plain
/// HTTP for loopback (local test registries), and <see cref="RegistryTransport"/> settles it by asking HTTPS first.
/// </summary>
public sealed class OciReference
{
    public const string Scheme = "oci";

    // The distribution spec's repository name: path components of lowercase alphanumerics joined by separators.
    private static readonly Regex RepositoryShape = new(@"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$",
        RegexOptions.CultureInvariant);

    private OciReference(string host, int port, bool loopback, string repository, bool plainHttp)
    {
        Host = host;
        Port = port;
        IsLoopback = loopback;
        Repository = repository;
        var authority = (host.Contains(":") ? "[" + host + "]" : host) + ":" + port;
        RegistryUri = new Uri((plainHttp ? "http" : "https") + "://" + authority + "/");
    }

    public string Host { get; }

    public int Port { get; }

    public bool IsLoopback { get; }

    public string Repository { get; }

    /// <summary>The registry's base address: https, or http for a loopback host until <see cref="RegistryTransport"/> finds it speaks TLS.</summary>
    public Uri RegistryUri { get; }

    /// <summary>Where the blob with this SHA-256 is read (GET /v2/&lt;repository&gt;/blobs/sha256:&lt;hex&gt;).</summary>
    public Uri BlobUri(string sha256) => new(RegistryUri, "v2/" + Repository + "/blobs/sha256:" + sha256.ToLowerInvariant());

    /// <summary>The pull scope a token for this repository needs.</summary>
    public string PullScope => "repository:" + Repository + ":pull";

    /// <summary>The same registry and repository over plain HTTP (true) or HTTPS (false).</summary>
    internal OciReference WithPlainHttp(bool plainHttp) => new(Host, Port, IsLoopback, Repository, plainHttp);

    /// <summary>The scope a token must have to push to this repository (pushing reads blobs too).</summary>
    public string PushScope => "repository:" + Repository + ":pull,push";

    public override string ToString() => Scheme + "://" + (Host.Contains(":") ? "[" + Host + "]" : Host) + (IsDefaultPort ? string.Empty : ":" + Port) + "/" + Repository;

    private bool IsDefaultPort => Port == (IsLoopback ? 80 : 443);

    /// <summary>Whether <paramref name="mirror"/> names a registry (starts with oci://), valid or not.</summary>
    public static bool IsRegistry(string mirror) => mirror.TrimStart().StartsWith(Scheme + "://", StringComparison.OrdinalIgnoreCase);

    /// <exception cref="ModelCacheException">InvalidRegistryReference: not an oci://host[:port]/repository.</exception>
    public static OciReference Parse(string text) => Parse(text, Invalid);

    /// <summary>The one parser of host[:port]/repository; <paramref name="invalid"/> words the error for its caller (a mirror, an artifact).</summary>
    internal static OciReference Parse(string text, Func<string, string, ModelCacheException> invalid)
    {
        if (!IsRegistry(text) || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || uri.HostNameType == UriHostNameType.Unknown
            || string.IsNullOrEmpty(uri.Host))
        {
            throw invalid(text, "it is not of the form oci://host[:port]/repository");
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            // Shown without the user info it carries, which may be a password.
            throw invalid(Scheme + "://" + uri.Host + "/…", "credentials do not belong in a registry reference");
        }

        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw invalid(text, "a registry mirror has no query or fragment");
        }

        var repository = Uri.UnescapeDataString(uri.AbsolutePath).Trim('/');
        if (repository.Length == 0 || repository.Length > 255 || !RepositoryShape.IsMatch(repository))
        {
            throw invalid(text, "the repository must be lowercase letters, digits and separators (. _ __ -) in /-separated parts, such as 'models' or 'team/models'; a tag or digest does not belong in a mirror");
        }

        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host.ToLowerInvariant();
        var loopback = IsLoopbackHost(host);
        var port = uri.IsDefaultPort || uri.Port < 0 ? (loopback ? 80 : 443) : uri.Port;
        return new OciReference(host, port, loopback, repository, plainHttp: loopback);
    }

    /// <summary>127.0.0.0/8, ::1 and localhost: the only hosts spoken to without TLS.</summary>
    public static bool IsLoopbackHost(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static ModelCacheException Invalid(string text, string why) =>
        new("InvalidRegistryReference", ModelCacheErrorKind.InvalidArgument,
            $"The mirror '{text}' is not a registry reference: {why}.",
            "Write a registry mirror as oci://host[:port]/repository, for example oci://registry.example.com/models (https), or oci://127.0.0.1:5000/models for a registry on this machine (plain http when it does not speak TLS).");
}
