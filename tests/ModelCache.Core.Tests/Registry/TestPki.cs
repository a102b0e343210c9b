using System;
using System.IO;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ModelCache.Core.Tests.Registry;

/// <summary>
/// A throw-away CA and a server certificate for 127.0.0.1/localhost signed by it, written as PEM files into a test
/// folder. Trusted only through SSL_CERT_FILE in the test's environment, never installed.
/// </summary>
public sealed class TestPki
{
    private TestPki(X509Certificate2 ca, X509Certificate2 server, string folder)
    {
        Ca = ca;
        Server = server;
        CaFile = Path.Combine(folder, "ca.pem");
        ServerCertificateFile = Path.Combine(folder, "server.pem");
        ServerKeyFile = Path.Combine(folder, "server.key");
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    /// <summary>The CA certificate alone: what SSL_CERT_FILE names.</summary>
    public string CaFile { get; }

    public string ServerCertificateFile { get; }

    public string ServerKeyFile { get; }

    /// <param name="serverName">Issue the server certificate for this DNS name only (not 127.0.0.1), for a name mismatch.</param>
    public static TestPki Create(string folder, string caName = "ModelCache Test CA", string? serverName = null)
    {
        Directory.CreateDirectory(folder);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=" + (serverName ?? "127.0.0.1"), serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        if (serverName is not null)
        {
            names.AddDnsName(serverName);
        }
        else
        {
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName("localhost");
        }

        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, false));
        var serial = new byte[12];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7f;
        using var signed = serverRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1), serial);
        var server = signed.CopyWithPrivateKey(serverKey);

        var pki = new TestPki(ca, server, folder);
        File.WriteAllText(pki.CaFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(pki.ServerCertificateFile, server.ExportCertificatePem() + "\n");
        File.WriteAllText(pki.ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem() + "\n");
        return pki;
    }
}
