using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Configuration;
using ModelCache.Errors;

namespace ModelCache.Transfer;

/// <summary>
/// Whether a registry is spoken to over HTTPS or plain HTTP — Docker's rule for insecure registries: HTTPS always,
/// except that a loopback host, or a host[:port] listed in MODELCACHE_INSECURE_REGISTRIES, is asked over HTTPS first and
/// spoken to in plain HTTP only when it does not speak TLS. A certificate that fails the check is never a reason to
/// fall back: it is the named error <c>RegistryCertificateInvalid</c>.
/// </summary>
public static class RegistryTransport
{
    /// <summary>Registries (host or host:port, separated by commas, semicolons or spaces) that may be plain HTTP.</summary>
    public const string InsecureRegistriesVariable = "MODELCACHE_INSECURE_REGISTRIES";

    /// <summary>Whether <paramref name="reference"/> may be plain HTTP: a loopback host, or listed in MODELCACHE_INSECURE_REGISTRIES.</summary>
    public static bool MayBePlainHttp(OciReference reference, IEnvironment environment)
    {
        if (reference.IsLoopback)
        {
            return true;
        }

        var listed = environment.GetVariable(InsecureRegistriesVariable);
        if (string.IsNullOrWhiteSpace(listed))
        {
            return false;
        }

        var host = reference.Host.Contains(":") ? "[" + reference.Host + "]" : reference.Host;
        return listed!.Split(new[] { ',', ';', ' ' }, StringSplitOptions.RemoveEmptyEntries).Take(1000).Select(e => e.Trim())
            .Any(e => string.Equals(e, host, StringComparison.OrdinalIgnoreCase) || string.Equals(e, host + ":" + reference.Port, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The reference to speak to: asks <c>GET /v2/</c> over HTTPS (any HTTP answer settles HTTPS); a registry that may be plain
    /// HTTP and failed the TLS handshake without sending a certificate is plain HTTP. Null when the probe could not
    /// settle it (unreachable): the caller uses <paramref name="reference"/> as given and asks again next time.
    /// </summary>
    /// <param name="client">A client made by the module's handler factory, so certificate failures are known.</param>
    /// <exception cref="TransferException">RegistryCertificateInvalid: the registry's certificate is not trusted for its name.</exception>
    public static async Task<OciReference?> ResolveAsync(HttpClient client, OciReference reference, IEnvironment environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var https = reference.WithPlainHttp(false);
        var probe = new Uri(https.RegistryUri, "v2/");
        var authority = CertificateTrust.Authority(probe);
        var trust = CertificateTrust.Of(client);
        trust?.Forget(authority);
        using var request = new HttpRequestMessage(HttpMethod.Get, probe);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timer.Token).ConfigureAwait(false);
            return https;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or AuthenticationException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            if (trust?.FailureFor(authority) is { } why)
            {
                throw CertificateInvalid(reference, why, trust.BundlePath, ex);
            }

            if (trust is not null && !trust.SawCertificate(authority) && IsHandshakeFailure(ex) && MayBePlainHttp(reference, environment))
            {
                return reference.WithPlainHttp(true);
            }

            return null;
        }
    }

    /// <summary>The connection was made and the TLS handshake failed: the server answered in something other than TLS.</summary>
    private static bool IsHandshakeFailure(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException)
            {
                return false;
            }
        }

        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException || (e is IOException && e.InnerException is null))
            {
                return true;
            }
        }

        return false;
    }

    internal static TransferException CertificateInvalid(OciReference reference, string why, string? bundle, Exception? inner = null) =>
        TransferException.Permanent("RegistryCertificateInvalid", ModelCacheErrorKind.SecurityError,
            $"The registry {reference} was refused at the TLS handshake: {why}. Nothing was sent or saved.",
            bundle is null
                ? $"If the registry's certificate comes from a private or test CA, set $env:{CertificateTrust.BundleVariable} to a PEM file holding that CA's certificate (never install a test CA system-wide); if the name does not match, use the name the certificate is issued for in -Mirror."
                : $"Add the registry's CA certificate to '{bundle}' ($env:{CertificateTrust.BundleVariable}), or use the name the certificate is issued for in -Mirror.",
            inner);
}
