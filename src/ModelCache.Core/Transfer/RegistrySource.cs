using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Primitives;

namespace ModelCache.Transfer;

/// <summary>
/// One registry mirror of a batch: its transport (HTTPS, or plain HTTP for a loopback or listed registry that does not
/// speak TLS), settled once before the first blob is asked, and its authenticator, so a token is reused by every model.
/// </summary>
internal sealed class RegistryConnection
{
    private readonly HttpClient _client;
    private readonly IEnvironment _environment;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private OciReference? _resolved;

    public RegistryConnection(HttpClient client, OciReference reference, NetworkOptions network, IEnvironment environment)
    {
        _client = client;
        _environment = environment;
        _timeout = network.Timeout;
        Reference = reference;
        Auth = new RegistryAuthenticator(client, reference, network.MirrorCredential, environment, network.Timeout, network.Clock);
    }

    public OciReference Reference { get; }

    public RegistryAuthenticator Auth { get; }

    /// <summary>The reference with its transport settled; as parsed while the registry cannot be reached (asked again next time).</summary>
    public async Task<OciReference> ResolveAsync(CancellationToken cancellationToken)
    {
        if (_resolved is { } known)
        {
            return known;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_resolved is null && await RegistryTransport.ResolveAsync(_client, Reference, _environment, _timeout, cancellationToken).ConfigureAwait(false) is { } resolved)
            {
                _resolved = resolved;
                Auth.PlainHttp = resolved.RegistryUri.Scheme == Uri.UriSchemeHttp;
            }

            return _resolved ?? Reference;
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>A registry as a mirror: the model is the blob sha256:&lt;catalog hash&gt; of the repository, read by the HTTP engine.</summary>
internal sealed class RegistrySource : IModelSource
{
    private readonly RegistryConnection _connection;
    private readonly HttpClient _client;
    private readonly TimeSpan _timeout;
    private readonly SourceHealth? _health;

    public RegistrySource(RegistryConnection connection, HttpClient client, TimeSpan timeout, SourceHealth? health)
    {
        _connection = connection;
        _client = client;
        _timeout = timeout;
        _health = health;
    }

    public TransferSource Kind => TransferSource.Mirror;

    public bool IsNetwork => true;

    /// <summary>oci://host[:port]/repository@sha256:&lt;hex&gt;: the same before and after the transport is settled, so a resume matches.</summary>
    public string Locate(ModelDefinition model) => _connection.Reference + "@sha256:" + model.Sha256.ToLowerInvariant();

    public async Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken)
    {
        var reference = await _connection.ResolveAsync(cancellationToken).ConfigureAwait(false);
        return await HttpSource.Registry(_client, reference, _connection.Auth, _timeout, _health).OpenAsync(model, resume, cancellationToken).ConfigureAwait(false);
    }
}
