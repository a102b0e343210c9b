using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// The separate-process support the multi-process tests stand on: the process a <see cref="PwshProcess"/>
/// holds is the real pwsh (so kill -9 releases its locks), and the -Command wrapper prints errors and
/// sets exit codes as the tests read them.
/// </summary>
public sealed class PwshProcessTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);
    private readonly TempDirectory _temp = new("modelcache-pwsh");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Kill_9_ends_the_real_pwsh_and_releases_its_file_lock()
    {
        var lockFile = _temp.Combine("held.lock");
        using var child = PwshProcess.StartCommand($"""
            $held = [System.IO.File]::Open('{lockFile}', 'OpenOrCreate', 'ReadWrite', 'None')
            'PID ' + $PID
            [System.Threading.Thread]::Sleep(120000)
            """);
        var line = await child.WaitForOutputAsync(l => l.StartsWith("PID ", StringComparison.Ordinal), Timeout);

        Assert.Equal(child.Id, int.Parse(line.AsSpan(4), CultureInfo.InvariantCulture));
        Assert.Throws<IOException>(() => File.Open(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());

        child.Kill();
        var result = await child.WaitForExitAsync(Timeout);

        Assert.True(result.Killed);
        Assert.Equal(137, result.ExitCode);
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(child.Id));
        File.Open(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose();
    }

    [Fact]
    public async Task Commands_print_error_ids_on_stderr_and_exit_0_1_or_2()
    {
        using var clean = PwshProcess.StartCommand("'text'; 42; [pscustomobject]@{ Answer = 42 }");
        using var errors = PwshProcess.StartCommand("Write-Warning 'careful'; Write-Error 'bad input' -ErrorId BadInput; 'after'");
        using var terminating = PwshProcess.StartCommand("Write-Error 'stopped' -ErrorId Halt -ErrorAction Stop; 'not reached'");
        var results = await Task.WhenAll(clean.WaitForExitAsync(Timeout), errors.WaitForExitAsync(Timeout), terminating.WaitForExitAsync(Timeout));

        Assert.Equal(0, results[0].ExitCode);
        Assert.Equal(new[] { "text", "42", "Answer : 42" }, results[0].OutputLines.Where(l => l.Length > 0));
        Assert.Empty(results[0].ErrorLines);

        Assert.Equal(1, results[1].ExitCode);
        Assert.Equal(new[] { "after" }, results[1].OutputLines.Where(l => l.Length > 0));
        Assert.Equal(new[] { "WARNING: careful", "ERROR BadInput: bad input" }, results[1].ErrorLines);
        Assert.Equal(new[] { "BadInput" }, results[1].ErrorIds);

        Assert.Equal(2, results[2].ExitCode);
        Assert.DoesNotContain("not reached", results[2].OutputLines);
        Assert.Equal(new[] { "Halt" }, results[2].ErrorIds);
    }
}
