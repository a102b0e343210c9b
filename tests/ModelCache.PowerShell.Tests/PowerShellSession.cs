using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ModelCache.Testing;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// A hosted PowerShell 7 runspace that has imported ModelCache.psd1 from the repo root, exactly as
/// a user does, with the cache root and user settings pointed at a private temp directory.
/// Environment variables are process-wide, so PowerShell tests run one at a time (see the
/// assembly attribute above) and every session restores what it changed.
/// </summary>
public sealed class PowerShellSession : IDisposable
{
    private static readonly string[] IsolatedVariables =
    {
        "MODELCACHE_HOME", "MODELCACHE_OFFLINE", "MODELCACHE_MIRROR", "MODELCACHE_MIRROR_ONLY", "MODELCACHE_CATALOG", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
        "MODELCACHE_MACHINE_CONFIG",
    };

    private readonly Dictionary<string, string?> _savedEnvironment;
    private readonly Runspace _runspace;

    public PowerShellSession()
    {
        _savedEnvironment = IsolatedVariables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        Temp = new TempDirectory("modelcache-ps");
        foreach (var variable in IsolatedVariables)
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        CacheRoot = Temp.Combine("cache");
        Environment.SetEnvironmentVariable("MODELCACHE_HOME", CacheRoot);
        Environment.SetEnvironmentVariable("XDG_CONFIG_HOME", Temp.Combine("config"));

        // Never the real /etc/modelcache/config.json: CI runs as root.
        Environment.SetEnvironmentVariable("MODELCACHE_MACHINE_CONFIG", Temp.Combine("machine", "config.json"));

        var state = InitialSessionState.CreateDefault2();
        if (OperatingSystem.IsWindows())
        {
            state.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        }

        _runspace = RunspaceFactory.CreateRunspace(state);
        _runspace.Open();
        _runspace.SessionStateProxy.Path.SetLocation(Temp.Path);
        Run($"Import-Module '{TestPaths.Manifest}' -ErrorAction Stop").ThrowIfErrors();
    }

    public TempDirectory Temp { get; }

    /// <summary>MODELCACHE_HOME for this session.</summary>
    public string CacheRoot { get; }

    /// <summary>Runs <paramref name="script"/> and returns its output and error records.</summary>
    public PowerShellResult Run(string script, IDictionary<string, object?>? variables = null)
    {
        using var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = _runspace;
        foreach (var pair in variables ?? new Dictionary<string, object?>())
        {
            _runspace.SessionStateProxy.SetVariable(pair.Key, pair.Value);
        }

        shell.AddScript(script);
        Collection<PSObject> output;
        try
        {
            output = shell.Invoke();
        }
        catch (RuntimeException ex)
        {
            return new PowerShellResult(new List<PSObject>(), shell.Streams.Error.ToList(), shell.Streams.Warning.Select(w => w.Message).ToList(), ex);
        }

        return new PowerShellResult(output.ToList(), shell.Streams.Error.ToList(), shell.Streams.Warning.Select(w => w.Message).ToList(), null);
    }

    public void Dispose()
    {
        // Removing the module runs its OnRemove, resetting process-wide settings for the next test.
        Run("Remove-Module ModelCache -ErrorAction SilentlyContinue");
        _runspace.Dispose();
        foreach (var pair in _savedEnvironment)
        {
            Environment.SetEnvironmentVariable(pair.Key, pair.Value);
        }

        Temp.Dispose();
    }
}

/// <summary>What a script produced.</summary>
public sealed class PowerShellResult
{
    public PowerShellResult(IReadOnlyList<PSObject> output, IReadOnlyList<ErrorRecord> errors, IReadOnlyList<string> warnings, RuntimeException? terminating)
    {
        Output = output;
        Errors = errors;
        Warnings = warnings;
        Terminating = terminating;
    }

    public IReadOnlyList<PSObject> Output { get; }

    public IReadOnlyList<ErrorRecord> Errors { get; }

    public IReadOnlyList<string> Warnings { get; }

    public RuntimeException? Terminating { get; }

    /// <summary>FullyQualifiedErrorIds of every error, terminating one included.</summary>
    public IReadOnlyList<string> ErrorIds =>
        Errors.Select(e => e.FullyQualifiedErrorId).Concat(Terminating is null ? Enumerable.Empty<string>() : new[] { Terminating.ErrorRecord.FullyQualifiedErrorId }).ToList();

    public PowerShellResult ThrowIfErrors()
    {
        if (Terminating is not null || Errors.Count > 0)
        {
            throw new InvalidOperationException("PowerShell reported errors:" + Environment.NewLine +
                string.Join(Environment.NewLine, Errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}").Concat(Terminating is null ? Array.Empty<string>() : new[] { Terminating.ToString() })));
        }

        return this;
    }

    public T Property<T>(int index, string name) => (T)LanguagePrimitives.ConvertTo(Output[index].Properties[name].Value, typeof(T));
}
