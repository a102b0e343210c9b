using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace ModelCache.Testing;

/// <summary>
/// Real PowerShell 7 (the <c>pwsh</c> pinned as a local dotnet tool in <c>.config/dotnet-tools.json</c>)
/// running a command or a script in a process of its own, for tests that need separate processes:
/// lock contention, <c>kill -9</c> mid-download, a scheduled job's exit code. Captures stdout and
/// stderr line by line, waits with timeouts, and kills the process tree with SIGKILL.
/// </summary>
/// <remarks>
/// <para>
/// The process is started as <c>dotnet &lt;packages&gt;/powershell/&lt;version&gt;/tools/&lt;tfm&gt;/any/&lt;unix|win&gt;/pwsh.dll</c>,
/// not as <c>dotnet pwsh</c>: the tool command runs a chain (dotnet launcher, tool shim, then pwsh.dll)
/// and <c>kill -9</c> of the launcher would leave the real pwsh running and holding its locks. Here
/// <see cref="Id"/> is the real pwsh, and <see cref="Kill"/> still kills the whole tree.
/// </para>
/// <para>
/// The child inherits this process's environment minus every <c>MODELCACHE_*</c> variable (in-process
/// tests set those process-wide) and minus <c>PSModulePath</c> (the hosted engine of the test process may
/// have changed it; pwsh computes its own), plus what the caller passes; a null value removes a variable.
/// PowerShell telemetry and update checks are switched off so the child contacts nothing, and
/// <c>NO_COLOR</c> keeps ANSI colour codes out of the captured lines. HOME is left alone (pwsh and the
/// dotnet host need it).
/// </para>
/// </remarks>
public sealed class PwshProcess : IDisposable
{
    private static readonly Lazy<string> PwshPath = new(FindPwsh);
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(15);
    private readonly Process _process;
    private readonly List<string> _output = new();
    private readonly List<string> _error = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _killed;

    private PwshProcess(Process process, string description)
    {
        _process = process;
        Description = description;
        _process.OutputDataReceived += (_, e) => Append(_output, e.Data, _outputClosed);
        _process.ErrorDataReceived += (_, e) => Append(_error, e.Data, _errorClosed);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The pinned tool's pwsh.dll, found once per test run (see <see cref="FindPwsh"/>).</summary>
    public static string PwshAssemblyPath => PwshPath.Value;

    /// <summary>The process id of the real pwsh (not of a launcher).</summary>
    public int Id => _process.Id;

    /// <summary>The command line, for assertion messages.</summary>
    public string Description { get; }

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> OutputLines => Snapshot(_output);

    public IReadOnlyList<string> ErrorLines => Snapshot(_error);

    /// <summary>
    /// Runs <paramref name="command"/> as <c>pwsh -NoProfile -NonInteractive -Command</c>, wrapped so that it
    /// prints what tests parse: strings and other values as they are, other objects Format-List style;
    /// each error record as <c>ERROR &lt;FullyQualifiedErrorId&gt;: &lt;message&gt;</c> on stderr, warnings as
    /// <c>WARNING: &lt;message&gt;</c> on stderr, a terminating error as <c>TERMINATING &lt;id&gt;: &lt;message&gt;</c>.
    /// Exit code 0 when no error was written, 1 when errors were written, 2 on a terminating error
    /// (unless the command itself calls <c>exit</c>). Progress is switched off.
    /// </summary>
    public static PwshProcess StartCommand(string command, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null) =>
        Start(new[] { "-Command", WrapCommand(command) }, "pwsh -Command " + command, environment, workingDirectory);

    /// <summary>
    /// <see cref="StartCommand"/> run under <paramref name="launcher"/> (a program and its arguments, such as
    /// <c>strace -f -o trace.txt --</c>), which is given the dotnet host and pwsh's arguments to start.
    /// <see cref="Id"/> is then the launcher's.
    /// </summary>
    public static PwshProcess StartCommandUnder(IReadOnlyList<string> launcher, string command, IReadOnlyDictionary<string, string?>? environment = null) =>
        Start(new[] { "-Command", WrapCommand(command) }, string.Join(" ", launcher) + " pwsh -Command " + command, environment, null, launcher);

    /// <summary>
    /// Runs <c>pwsh -NoProfile -NonInteractive -File &lt;script&gt; &lt;arguments&gt;</c> exactly as a scheduled job
    /// would (arguments as <c>-Name value</c> pairs, switches, positionals; pwsh binds them). Nothing is
    /// wrapped: output and errors are pwsh's own, and the exit code is pwsh's (0, 1 after a terminating
    /// error, or the script's <c>exit</c> code). A script that sets <c>$global:ErrorView = 'NormalView'</c>
    /// gets its error ids into <see cref="PwshResult.ErrorIds"/>.
    /// </summary>
    public static PwshProcess StartScript(string scriptPath, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var all = new[] { "-File", Path.GetFullPath(scriptPath) }.Concat(arguments).ToArray();
        return Start(all, "pwsh " + string.Join(" ", all.Select(a => a.Contains(' ', StringComparison.Ordinal) ? "'" + a + "'" : a)), environment, workingDirectory);
    }

    /// <summary>
    /// Waits until the process exits; on timeout kills it (SIGKILL, whole tree) and throws a
    /// <see cref="TimeoutException"/> carrying what it printed.
    /// </summary>
    public async Task<PwshResult> WaitForExitAsync(TimeSpan timeout)
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

        return new PwshResult(Description, _process.ExitCode, _killed, OutputLines, ErrorLines);
    }

    /// <summary>Synchronous <see cref="WaitForExitAsync"/>.</summary>
    public PwshResult WaitForExit(TimeSpan timeout) => WaitForExitAsync(timeout).GetAwaiter().GetResult();

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

    /// <summary><c>kill -9</c> of pwsh and its children, then waits (bounded) until it is gone.</summary>
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

    /// <summary>
    /// The command dot-sourced (so it runs in the script scope, as plain <c>-Command</c> text would) with
    /// errors and warnings merged into its output, sorted onto stdout and stderr as documented on
    /// <see cref="StartCommand"/>. Everything ends in Out-Default before <c>exit</c>, so no formatted
    /// output is lost.
    /// </summary>
    private static string WrapCommand(string command) => $$"""
        $ProgressPreference = 'SilentlyContinue'
        $__pwshProcessErrors = $false
        try {
            . {
        {{command}}
            } 2>&1 3>&1 | ForEach-Object {
                if ($_ -is [System.Management.Automation.ErrorRecord]) {
                    $__pwshProcessErrors = $true
                    [Console]::Error.WriteLine('ERROR ' + $_.FullyQualifiedErrorId + ': ' + $_)
                } elseif ($_ -is [System.Management.Automation.WarningRecord]) {
                    [Console]::Error.WriteLine('WARNING: ' + $_.Message)
                } elseif ($null -eq $_ -or $_ -is [string] -or $_ -is [ValueType]) {
                    $_
                } else {
                    $_ | Format-List | Out-String -Stream
                }
            } | Out-Default
        } catch {
            [Console]::Error.WriteLine('TERMINATING ' + $_.FullyQualifiedErrorId + ': ' + $_)
            exit 2
        }
        if ($__pwshProcessErrors) { exit 1 }
        exit 0
        """;

    private static PwshProcess Start(IReadOnlyList<string> arguments, string description, IReadOnlyDictionary<string, string?>? environment, string? workingDirectory,
        IReadOnlyList<string>? launcher = null)
    {
        var info = new ProcessStartInfo(launcher is { Count: > 0 } ? launcher[0] : DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        if (launcher is { Count: > 0 })
        {
            foreach (var argument in launcher.Skip(1))
            {
                info.ArgumentList.Add(argument);
            }

            info.ArgumentList.Add(DotnetHost());
        }

        info.ArgumentList.Add(PwshAssemblyPath);
        info.ArgumentList.Add("-NoProfile");
        info.ArgumentList.Add("-NonInteractive");
        if (OperatingSystem.IsWindows())
        {
            info.ArgumentList.Add("-ExecutionPolicy");
            info.ArgumentList.Add("Bypass");
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MODELCACHE_", StringComparison.OrdinalIgnoreCase) || k.Equals("PSModulePath", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }

        info.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        info.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["NO_COLOR"] = "1";
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
        description = description.ReplaceLineEndings(" ");
        return new PwshProcess(process, description.Length > 300 ? description.Substring(0, 300) + "…" : description);
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

    /// <summary>
    /// pwsh.dll of the PowerShell version pinned in the repo's tool manifest: first looked up in the NuGet
    /// global packages folder (<c>NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>), else asked once of
    /// the tool itself (<c>dotnet tool run pwsh</c>, which knows a packages folder set in nuget.config).
    /// </summary>
    private static string FindPwsh()
    {
        var version = PinnedVersion();
        var flavour = OperatingSystem.IsWindows() ? "win" : "unix";
        var roots = new[]
        {
            Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        };
        foreach (var root in roots.Where(r => !string.IsNullOrEmpty(r)))
        {
            var tools = Path.Combine(root!, "powershell", version, "tools");
            if (!Directory.Exists(tools))
            {
                continue;
            }

            // tools/<tfm>/any/<unix|win>/pwsh.dll; a package carries one tfm, prefer the newest should it carry more.
            var found = Directory.GetDirectories(tools)
                .OrderByDescending(d => Path.GetFileName(d), StringComparer.OrdinalIgnoreCase)
                .Select(d => Path.Combine(d, "any", flavour, "pwsh.dll"))
                .FirstOrDefault(File.Exists);
            if (found is not null)
            {
                return found;
            }
        }

        return AskTheTool(version);
    }

    private static string PinnedVersion()
    {
        var manifest = new[] { Path.Combine(TestPaths.RepoRoot, ".config", "dotnet-tools.json"), Path.Combine(TestPaths.RepoRoot, "dotnet-tools.json") }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"No dotnet tool manifest (.config/dotnet-tools.json) in {TestPaths.RepoRoot}: the tests run the pinned pwsh from it.");
        using var document = JsonDocument.Parse(File.ReadAllText(manifest));
        foreach (var tool in document.RootElement.GetProperty("tools").EnumerateObject())
        {
            if (tool.Name.Equals("powershell", StringComparison.OrdinalIgnoreCase))
            {
                return tool.Value.GetProperty("version").GetString()!;
            }
        }

        throw new InvalidOperationException($"{manifest} pins no 'powershell' tool: the tests need it to run real pwsh.");
    }

    private static string AskTheTool(string version)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestPaths.RepoRoot,
        };
        foreach (var argument in new[] { "tool", "run", "pwsh", "-NoProfile", "-NonInteractive", "-Command", "Join-Path $PSHOME 'pwsh.dll'" })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        info.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start dotnet tool run pwsh");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
        }

        var path = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        if (process.ExitCode == 0 && path is not null && File.Exists(path))
        {
            return path;
        }

        throw new FileNotFoundException(
            $"Cannot find pwsh.dll of the PowerShell {version} tool pinned in .config/dotnet-tools.json. Run 'dotnet tool restore' in {TestPaths.RepoRoot}. " +
            $"'dotnet tool run pwsh' said: {output.Trim()} {error.GetAwaiter().GetResult().Trim()}");
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

/// <summary>How a <see cref="PwshProcess"/> ended and what it printed.</summary>
public sealed class PwshResult
{
    /// <summary>
    /// <c>ERROR &lt;id&gt;:</c> and <c>TERMINATING &lt;id&gt;:</c> lines written by <see cref="PwshProcess.StartCommand"/>'s
    /// wrapper, and the <c>+ FullyQualifiedErrorId : &lt;id&gt;</c> line of pwsh's NormalView error display.
    /// </summary>
    private static readonly Regex ErrorLine = new(@"^(?:(?:ERROR|TERMINATING) (?<id>\S+?):|\+ FullyQualifiedErrorId : (?<id>\S+)$)", RegexOptions.CultureInvariant);

    public PwshResult(string description, int exitCode, bool killed, IReadOnlyList<string> outputLines, IReadOnlyList<string> errorLines)
    {
        Description = description;
        ExitCode = exitCode;
        Killed = killed;
        OutputLines = outputLines;
        ErrorLines = errorLines;
    }

    public string Description { get; }

    /// <summary>
    /// <see cref="PwshProcess.StartCommand"/>: 0 no error written, 1 errors written, 2 terminating error.
    /// <see cref="PwshProcess.StartScript"/>: pwsh's own (1 after a terminating error). 137 (128 + SIGKILL) when killed.
    /// </summary>
    public int ExitCode { get; }

    /// <summary>This object killed the process.</summary>
    public bool Killed { get; }

    public IReadOnlyList<string> OutputLines { get; }

    public IReadOnlyList<string> ErrorLines { get; }

    /// <summary>FullyQualifiedErrorIds printed on stderr (see <see cref="ErrorLine"/>).</summary>
    public IReadOnlyList<string> ErrorIds => ErrorLines.Select(l => ErrorLine.Match(l.Trim())).Where(m => m.Success).Select(m => m.Groups["id"].Value).ToList();

    public bool Succeeded => !Killed && ExitCode == 0;

    /// <summary>Exit code and everything printed, for assertion messages.</summary>
    public override string ToString() =>
        $"{Description}{Environment.NewLine}exit code {ExitCode}{(Killed ? " (killed)" : string.Empty)}{Environment.NewLine}" +
        $"--- stdout ---{Environment.NewLine}{string.Join(Environment.NewLine, OutputLines)}{Environment.NewLine}" +
        $"--- stderr ---{Environment.NewLine}{string.Join(Environment.NewLine, ErrorLines)}";
}
