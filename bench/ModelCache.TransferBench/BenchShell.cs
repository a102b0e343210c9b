using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;
using ModelCache.Testing;

namespace ModelCache.TransferBench;

/// <summary>A PowerShell 7 runspace in this process that has imported ModelCache.psd1 from the repo root.</summary>
internal sealed class BenchShell : IDisposable
{
    private readonly Runspace _runspace;
    private readonly CancellationToken _cancellationToken;

    public BenchShell(string workingDirectory, CancellationToken cancellationToken)
    {
        _cancellationToken = cancellationToken;
        var state = InitialSessionState.CreateDefault2();
        if (OperatingSystem.IsWindows())
        {
            state.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        }

        _runspace = RunspaceFactory.CreateRunspace(state);
        _runspace.Open();
        _runspace.SessionStateProxy.Path.SetLocation(workingDirectory);
        Run($"Import-Module '{TestPaths.Manifest.Replace("'", "''", StringComparison.Ordinal)}' -ErrorAction Stop");
    }

    /// <summary>Runs <paramref name="script"/>; any error record fails the benchmark. Ctrl+C stops the pipeline.</summary>
    public IReadOnlyList<PSObject> Run(string script)
    {
        using var shell = PowerShell.Create();
        shell.Runspace = _runspace;
        shell.AddScript(script);
        using var stop = _cancellationToken.Register(() => shell.BeginStop(null, null));
        var output = shell.Invoke();
        _cancellationToken.ThrowIfCancellationRequested();
        if (shell.Streams.Error.Count > 0)
        {
            throw new InvalidOperationException($"'{script}' failed:{Environment.NewLine}" +
                string.Join(Environment.NewLine, shell.Streams.Error.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        }

        return output.ToList();
    }

    public void Dispose() => _runspace.Dispose();
}
