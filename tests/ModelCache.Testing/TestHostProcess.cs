using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace ModelCache.Testing;

/// <summary>
/// tests/ModelCache.TestHost running a script (or <c>-Command</c> text) in a process of its own, for
/// tests that need separate processes: lock contention, <c>kill -9</c> mid-download. Captures stdout and
/// stderr line by line, waits with timeouts, and kills the process tree with SIGKILL.
/// </summary>
/// <remarks>
/// The child inherits this process's environment minus every <c>MODELCACHE_*</c> variable (in-process
/// tests set those process-wide), plus what the caller passes; a null value removes a variable.
/// PowerShell telemetry and update checks are switched off so the child contacts nothing.
/// </remarks>
public sealed class TestHostProcess : IDisposable
{
    private static readonly Lazy<string> HostPath = new(FindHost);
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(15);
    private readonly Process _process;
    private readonly List<string> _output = new();
    private readonly List<string> _error = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _killed;

    private TestHostProcess(Process process, string description)
    {
        _process = process;
        Description = description;
        _process.OutputDataReceived += (_, e) => Append(_output, e.Data, _outputClosed);
        _process.ErrorDataReceived += (_, e) => Append(_error, e.Data, _errorClosed);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>ModelCache.TestHost.dll of the same configuration and framework as the running tests.</summary>
    public static string HostAssemblyPath => HostPath.Value;

    public int Id => _process.Id;

    /// <summary>The command line, for assertion messages.</summary>
    public string Description { get; }

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> OutputLines => Snapshot(_output);

    public IReadOnlyList<string> ErrorLines => Snapshot(_error);

    /// <summary>Runs <paramref name="command"/> as <c>ModelCache.TestHost -Command &lt;text&gt;</c>.</summary>
    public static TestHostProcess StartCommand(string command, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null) =>
        Start(new[] { "-Command", command }, environment, workingDirectory);

    /// <summary>Runs <c>ModelCache.TestHost &lt;script&gt; &lt;arguments&gt;</c> (arguments as <c>-Name value</c> pairs, switches, positionals).</summary>
    public static TestHostProcess StartScript(string scriptPath, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null) =>
        Start(new[] { Path.GetFullPath(scriptPath) }.Concat(arguments).ToArray(), environment, workingDirectory);

    /// <summary>
    /// Waits until the process exits; on timeout kills it (SIGKILL, whole tree) and throws a
    /// <see cref="TimeoutException"/> carrying what it printed.
    /// </summary>
    public async Task<TestHostResult> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
            await Task.WhenAll(_outputClosed.Task, _errorClosed.Task).WaitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException($"{Description} did not finish within {timeout.TotalSeconds:0} s and was killed.{Environment.NewLine}{Transcript()}");
        }

        return new TestHostResult(Description, _process.ExitCode, _killed, OutputLines, ErrorLines);
    }

    /// <summary>Synchronous <see cref="WaitForExitAsync"/>.</summary>
    public TestHostResult WaitForExit(TimeSpan timeout) => WaitForExitAsync(timeout).GetAwaiter().GetResult();

    /// <summary>
    /// Waits until a line of standard output satisfies <paramref name="predicate"/> and returns it; throws
    /// when the process exits first or after <paramref name="timeout"/> (the process is left running).
    /// </summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var match = OutputLines.FirstOrDefault(predicate);
            if (match is not null)
            {
                return match;
            }

            if (_outputClosed.Task.IsCompleted)
            {
                throw new InvalidOperationException($"{Description} exited before printing the expected line.{Environment.NewLine}{Transcript()}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{Description} did not print the expected line within {timeout.TotalSeconds:0} s.{Environment.NewLine}{Transcript()}");
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary><c>kill -9</c> of the process and its children, then waits (bounded) until it is gone.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _killed = true;
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited in the meantime.
        }

        if (!_process.WaitForExit(KillTimeout))
        {
            throw new TimeoutException($"{Description} (pid {_process.Id}) survived SIGKILL for {KillTimeout.TotalSeconds:0} s.");
        }
    }

    /// <summary>Everything printed so far, for failure messages.</summary>
    public string Transcript() =>
        $"--- stdout of pid {_process.Id} ---{Environment.NewLine}{string.Join(Environment.NewLine, OutputLines)}{Environment.NewLine}" +
        $"--- stderr ---{Environment.NewLine}{string.Join(Environment.NewLine, ErrorLines)}";

    public void Dispose()
    {
        try
        {
            Kill();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static TestHostProcess Start(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?>? environment, string? workingDirectory)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        info.ArgumentList.Add(HostAssemblyPath);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MODELCACHE_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }

        info.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        info.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start " + info.FileName);
        process.StandardInput.Close();
        var description = "ModelCache.TestHost " + string.Join(" ", arguments.Select(a => a.Contains(' ', StringComparison.Ordinal) ? "'" + a + "'" : a));
        return new TestHostProcess(process, description.Length > 300 ? description.Substring(0, 300) + "…" : description);
    }

    /// <summary>The dotnet muxer running these tests (DOTNET_HOST_PATH under the SDK), else <c>dotnet</c> on PATH.</summary>
    private static string DotnetHost()
    {
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
        {
            return fromSdk;
        }

        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return current;
        }

        return OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
    }

    private static string FindHost()
    {
        var metadata = typeof(TestHostProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(a => a.Key, a => a.Value);
        var configuration = metadata.GetValueOrDefault("Configuration") ?? "Debug";
        var framework = metadata.GetValueOrDefault("TargetFramework") ?? "net10.0";
        var path = Path.Combine(TestPaths.RepoRoot, "tests", "ModelCache.TestHost", "bin", configuration, framework, "ModelCache.TestHost.dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The test console host is not built: {path}. Build it with the tests: 'dotnet build ModelCache.sln -c {configuration}' " +
                "(tests/ModelCache.PowerShell.Tests references it for build order).", path);
        }

        return path;
    }

    private static void Append(List<string> lines, string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (lines)
        {
            lines.Add(line);
        }
    }

    private static IReadOnlyList<string> Snapshot(List<string> lines)
    {
        lock (lines)
        {
            return lines.ToList();
        }
    }
}

/// <summary>How a <see cref="TestHostProcess"/> ended and what it printed.</summary>
public sealed class TestHostResult
{
    private static readonly Regex ErrorLine = new(@"^(?:ERROR|TERMINATING) (?<id>\S+?):", RegexOptions.CultureInvariant);

    public TestHostResult(string description, int exitCode, bool killed, IReadOnlyList<string> outputLines, IReadOnlyList<string> errorLines)
    {
        Description = description;
        ExitCode = exitCode;
        Killed = killed;
        OutputLines = outputLines;
        ErrorLines = errorLines;
    }

    public string Description { get; }

    /// <summary>0: no error written; 1: errors written; 2: terminating error; 137 (128 + SIGKILL) when killed.</summary>
    public int ExitCode { get; }

    /// <summary>This object killed the process.</summary>
    public bool Killed { get; }

    public IReadOnlyList<string> OutputLines { get; }

    public IReadOnlyList<string> ErrorLines { get; }

    /// <summary>FullyQualifiedErrorIds the host printed (<c>ERROR &lt;id&gt;:</c> and <c>TERMINATING &lt;id&gt;:</c> lines).</summary>
    public IReadOnlyList<string> ErrorIds => ErrorLines.Select(l => ErrorLine.Match(l)).Where(m => m.Success).Select(m => m.Groups["id"].Value).ToList();

    public bool Succeeded => !Killed && ExitCode == 0;

    /// <summary>Exit code and everything printed, for assertion messages.</summary>
    public override string ToString() =>
        $"{Description}{Environment.NewLine}exit code {ExitCode}{(Killed ? " (killed)" : string.Empty)}{Environment.NewLine}" +
        $"--- stdout ---{Environment.NewLine}{string.Join(Environment.NewLine, OutputLines)}{Environment.NewLine}" +
        $"--- stderr ---{Environment.NewLine}{string.Join(Environment.NewLine, ErrorLines)}";
}
