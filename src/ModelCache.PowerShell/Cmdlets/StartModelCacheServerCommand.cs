using System;
using System.Management.Automation;
using System.Net;
using System.Runtime.InteropServices;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.PowerShell.Hosting;
using ModelCache.Server;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Serves a cache to a site in the foreground until Ctrl+C (or SIGTERM): model files as a mirror, index.json, the
/// admin API and /metrics. Writes the server's address once it listens, then one information record per request.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "ModelCacheServer")]
[OutputType(typeof(ModelCacheServerInfo))]
public sealed class StartModelCacheServerCommand : ModelCacheCmdlet
{
    private const string LogTag = "ModelCacheServer";

    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    /// <summary>0 picks a free port (the output object says which).</summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int Port { get; set; } = ModelCacheServerOptions.DefaultPort;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>Upstream mirrors for pull-through; kept in the server's options.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Mirror { get; set; }

    [Parameter]
    public SecureString? AdminToken { get; set; }

    [Parameter]
    public SwitchParameter ReadOnly { get; set; }

    /// <summary>
    /// The server is reached only through a reverse proxy that limits header time and connections (nginx's
    /// client_header_timeout, limit_conn): skip the connection gate that does it otherwise on Linux and macOS.
    /// </summary>
    [Parameter]
    public SwitchParameter BehindProxy { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ExportPath { get; set; }

    [Parameter]
    [ValidateRange(1, 10000)]
    public int MaxConnections { get; set; } = ModelCacheServerOptions.DefaultMaxConnections;

    /// <summary>Connections one remote address may hold at once in the connection gate (see help: it keys on the TCP peer).</summary>
    [Parameter]
    [ValidateRange(1, 10000)]
    public int MaxConnectionsPerAddress { get; set; } = ModelCacheServerOptions.DefaultMaxConnectionsPerAddress;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    /// <summary>
    /// Most connections a pull-through opens at once to one upstream host (segments of a large model, and models fetched at
    /// the same time, share them), as on Save-Model; 1 keeps one connection per download. Default:
    /// $env:MODELCACHE_CONNECTIONS_PER_HOST, else 8.
    /// </summary>
    [Parameter]
    [ValidateRange(1, Operations.SourcePolicy.MaxConnectionsPerHost)]
    public int ConnectionsPerHost { get; set; }

    protected override void End()
    {
        if (!IPAddress.TryParse(ListenAddress, out var address))
        {
            ThrowTerminatingError(ErrorRecords.Create("ListenAddressInvalid", ErrorCategory.InvalidArgument,
                $"'{ListenAddress}' is not an IP address.", "Give an address such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).", ListenAddress));
        }

        // A mistyped registry mirror stops the server at start, not every pull-through later.
        try
        {
            Operations.SourcePolicy.CheckRegistryMirrors(Mirror ?? EnvironmentOptions.Mirrors);
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Mirror));
        }

        if (IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "the server serves catalog models from a Native or Uniface cache.", "Serve a Native or Uniface cache; to share hub files, use 'Export-ModelCache -Layout HuggingFace -Path hub.zip' and 'Import-ModelCache -Layout HuggingFace'.");
        }

        // Read at start, so a bad MODELCACHE_CONNECTIONS_PER_HOST stops the server rather than every pull-through later.
        int connectionsPerHost;
        try
        {
            connectionsPerHost = MyInvocation.BoundParameters.ContainsKey(nameof(ConnectionsPerHost)) ? ConnectionsPerHost : Operations.SourcePolicy.ConnectionsPerHostFrom(Environment);
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, EnvironmentVariables.ConnectionsPerHost));
            return;
        }

        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(CachePath, ParseLayout(Layout));
        var options = new ModelCacheServerOptions(store, catalog)
        {
            ListenAddress = address!,
            Port = Port,
            ReadOnly = ReadOnly,
            ConnectionGate = !BehindProxy,
            AdminToken = ReadToken(),
            ExportPath = ExportPath is null ? null : GetUnresolvedProviderPathFromPSPath(ExportPath),
            Mirrors = Mirror ?? Array.Empty<string>(),
            PullThrough = new PullThroughOptions
            {
                Mirrors = Mirror ?? EnvironmentOptions.Mirrors,
                Offline = EnvironmentOptions.Offline,
                MirrorOnly = EnvironmentOptions.MirrorOnly,
                Environment = Environment,
                Network = new Transfer.NetworkOptions { ConnectionsPerHost = connectionsPerHost },
            },
            MaxConnections = MaxConnections,
            MaxConnectionsPerAddress = MaxConnectionsPerAddress,
            Tool = "ModelCache " + (MyInvocation.MyCommand.Module?.Version?.ToString() ?? "unknown"),
            Fingerprints = ModelUse.UserFingerprints(Environment),
        };
        if (options.AdminToken is null)
        {
            WriteVerbose($"No admin token (-AdminToken or ${EnvironmentVariables.AdminToken}): every POST is answered 401.");
        }

        RunAsync((bridge, token) => ServeAsync(options, bridge, token));
    }

    private async Task ServeAsync(ModelCacheServerOptions options, PipelineBridge bridge, CancellationToken stop)
    {
        options.RequestLog = entry => bridge.Post(() =>
        {
            var line = entry.ToString();
            WriteInformation(line, new[] { LogTag });
            WriteVerbose(line);
        });
        options.Warning = message => bridge.Post(() => WriteWarning(message));
        using var server = ModelCacheServer.Start(options);
        using var terminated = new CancellationTokenSource();
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stop, terminated.Token);

        // SIGTERM (systemd's stop) ends the process through ProcessExit: stop the same way Ctrl+C does, and hold the
        // exit until responses in flight are finished or aborted.
        EventHandler onExit = (_, _) =>
        {
            terminated.Cancel();
            server.StopAsync().Wait(options.ShutdownGrace + TimeSpan.FromSeconds(10));
        };
        AppDomain.CurrentDomain.ProcessExit += onExit;
        try
        {
            var info = new ModelCacheServerInfo(server, options);
            bridge.Post(() => WriteObject(info));
            await server.RunAsync(stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            AppDomain.CurrentDomain.ProcessExit -= onExit;
        }
    }

    private Server.AdminToken? ReadToken()
    {
        var token = AdminToken is null ? Environment.GetVariable(EnvironmentVariables.AdminToken) : Unprotect(AdminToken);
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        try
        {
            return Server.AdminToken.FromString(token!);
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, AdminToken is null ? EnvironmentVariables.AdminToken : nameof(AdminToken)));
            return null;
        }
    }

    private static string Unprotect(SecureString secure)
    {
        var pointer = Marshal.SecureStringToGlobalAllocUnicode(secure);
        try
        {
            return Marshal.PtrToStringUni(pointer) ?? string.Empty;
        }
        finally
        {
            Marshal.ZeroFreeGlobalAllocUnicode(pointer);
        }
    }
}
