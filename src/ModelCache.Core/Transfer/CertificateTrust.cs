using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ModelCache.Configuration;
using ModelCache.Errors;

namespace ModelCache.Transfer;

/// <summary>
/// Server certificate checking for every HTTP client here: the platform's trust, plus the roots of the PEM bundle
/// named by SSL_CERT_FILE (how a private or test CA is trusted without installing it system-wide; OpenSSL, curl and
/// .NET on Linux read the same variable, Windows and macOS do not, so the module applies it itself). The host name is
/// always checked; a bundle root only completes an otherwise valid chain. Failures are remembered per host:port so a
/// caller can name a TLS refusal instead of a generic connection error.
/// </summary>
internal sealed class CertificateTrust
{
    /// <summary>The environment variable naming a PEM file of extra trusted roots.</summary>
    public const string BundleVariable = "SSL_CERT_FILE";

    private const int MaxBundleBytes = 4 * 1024 * 1024;
    private const int MaxBundleCertificates = 1000;
    private static readonly ConditionalWeakTable<HttpClient, CertificateTrust> ByClient = new();

    private readonly X509Certificate2Collection _roots;
    private readonly ConcurrentDictionary<string, string> _failures = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, bool> _seen = new(StringComparer.OrdinalIgnoreCase);

    private CertificateTrust(X509Certificate2Collection roots, string? bundlePath)
    {
        _roots = roots;
        BundlePath = bundlePath;
    }

    /// <summary>The SSL_CERT_FILE in force, or null.</summary>
    public string? BundlePath { get; }

    /// <exception cref="ModelCacheException">CertificateBundleInvalid: SSL_CERT_FILE names no readable PEM bundle of certificates.</exception>
    public static CertificateTrust FromEnvironment(IEnvironment environment)
    {
        var path = environment.GetVariable(BundleVariable);
        return string.IsNullOrWhiteSpace(path) ? new CertificateTrust(new X509Certificate2Collection(), null) : new CertificateTrust(LoadBundle(path!), path);
    }

    /// <summary>The trust a client made by <see cref="SourcePlanner.CreateClient"/> checks with, or null for any other client.</summary>
    public static CertificateTrust? Of(HttpClient client) => ByClient.TryGetValue(client, out var trust) ? trust : null;

    internal void Attach(HttpClient client) => ByClient.Add(client, this);

    /// <summary>Why the last certificate of <paramref name="authority"/> (host:port) was refused, or null.</summary>
    public string? FailureFor(string authority) => _failures.TryGetValue(authority, out var why) ? why : null;

    /// <summary>Whether any certificate was received from <paramref name="authority"/>: the server speaks TLS.</summary>
    public bool SawCertificate(string authority) => _seen.ContainsKey(authority);

    /// <summary>Forgets what was seen of <paramref name="authority"/>, before a probe.</summary>
    public void Forget(string authority)
    {
        _failures.TryRemove(authority, out _);
        _seen.TryRemove(authority, out _);
    }

    public static string Authority(Uri uri) => uri.Host + ":" + uri.Port;

    /// <summary>The validation callback; <paramref name="inner"/> (tests) replaces the check but failures are still recorded.</summary>
    public Func<HttpRequestMessage, X509Certificate2?, X509Chain?, SslPolicyErrors, bool> Callback(
        Func<HttpRequestMessage, X509Certificate2?, X509Chain?, SslPolicyErrors, bool>? inner) => (request, certificate, chain, errors) =>
    {
        var authority = request.RequestUri is { } uri ? Authority(uri) : string.Empty;
        if (certificate is not null)
        {
            _seen[authority] = true;
        }

        var why = inner is not null ? (inner(request, certificate, chain, errors) ? null : "the test's check refused it") : Check(certificate, errors);
        if (why is null)
        {
            _failures.TryRemove(authority, out _);
            return true;
        }

        _failures[authority] = why;
        return false;
    };

    /// <summary>Null when the certificate is trusted for the host, else why not (no secret in it: certificates are public).</summary>
    private string? Check(X509Certificate2? certificate, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return null;
        }

        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return "the server sent no certificate";
        }

        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return $"its certificate ({certificate.Subject}) is not issued for this host name";
        }

        // Only a chain error is left: the chain may end at a root of the bundle.
        if (_roots.Count == 0)
        {
            return $"its certificate ({certificate.Subject}, issued by {certificate.Issuer}) does not chain to a trusted root (no {BundleVariable} bundle is set)";
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
        chain.ChainPolicy.ExtraStore.AddRange(_roots);
        var built = chain.Build(certificate);
        var elements = chain.ChainElements.Cast<X509ChainElement>().ToList();
        var root = elements.Count > 0 ? elements[elements.Count - 1].Certificate : null;
        var anchored = root is not null && _roots.Cast<X509Certificate2>().Any(r => r.RawData.SequenceEqual(root.RawData));
        // AllowUnknownCertificateAuthority lets an unknown root through; every other problem (expiry, usage, signature) still fails.
        var otherProblems = elements.SelectMany(e => e.ChainElementStatus).Where(s => s.Status != X509ChainStatusFlags.NoError && s.Status != X509ChainStatusFlags.UntrustedRoot).Select(s => s.StatusInformation.Trim()).Distinct().ToList();
        if (built && anchored && otherProblems.Count == 0)
        {
            return null;
        }

        return anchored
            ? $"its certificate ({certificate.Subject}) chains to a root of {BundleVariable} but is not valid: {string.Join("; ", otherProblems)}"
            : $"its certificate ({certificate.Subject}, issued by {certificate.Issuer}) does not chain to a trusted root, nor to one in {BundleVariable} ('{BundlePath}')";
    }

    private static X509Certificate2Collection LoadBundle(string path)
    {
        byte[]? bytes;
        try
        {
            bytes = IO.RootGuard.ReadBounded(path, MaxBundleBytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw Invalid(path, ex.Message);
        }

        if (bytes is null)
        {
            throw Invalid(path, $"it is larger than {MaxBundleBytes} bytes");
        }

        const string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
        var text = Encoding.ASCII.GetString(bytes);
        var roots = new X509Certificate2Collection();
        for (var at = text.IndexOf(begin, StringComparison.Ordinal); at >= 0; at = text.IndexOf(begin, at, StringComparison.Ordinal))
        {
            var stop = text.IndexOf(end, at, StringComparison.Ordinal);
            if (stop < 0 || roots.Count >= MaxBundleCertificates)
            {
                throw Invalid(path, stop < 0 ? "a certificate has no END line" : $"it holds more than {MaxBundleCertificates} certificates");
            }

            try
            {
                roots.Add(new X509Certificate2(Convert.FromBase64String(text.Substring(at + begin.Length, stop - at - begin.Length))));
            }
            catch (Exception ex) when (ex is FormatException or System.Security.Cryptography.CryptographicException)
            {
                throw Invalid(path, $"certificate {roots.Count + 1} is not a valid PEM certificate");
            }

            at = stop + end.Length;
        }

        return roots.Count > 0 ? roots : throw Invalid(path, "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }

    private static ModelCacheException Invalid(string path, string why) =>
        new("CertificateBundleInvalid", ModelCacheErrorKind.InvalidArgument,
            $"The trusted certificates file '{path}' named by $env:{BundleVariable} cannot be used: {why}.",
            $"Point $env:{BundleVariable} at a PEM file of the CA certificates to trust (the -----BEGIN CERTIFICATE----- blocks), or remove the variable to use only the system's trust.");
}
