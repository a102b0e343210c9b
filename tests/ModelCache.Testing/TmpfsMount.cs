using System;
using System.Diagnostics;
using System.Threading.Tasks;

namespace ModelCache.Testing;

/// <summary>
/// A real tmpfs mounted for a test (a small disk that fills up, a cache that turns read-only). Needs
/// Linux and root; <see cref="TryMountAsync"/> says why not elsewhere, so the test can skip with that
/// reason (never on CI, where it runs as root and must run). Unmounted on dispose.
/// </summary>
public sealed class TmpfsMount : IDisposable
{
    private TmpfsMount(string path) => Path = path;

    public string Path { get; }

    /// <summary>The mount, or null and why it cannot be had here.</summary>
    public static async Task<(TmpfsMount? Mount, string? WhyNot)> TryMountAsync(string mountPoint, string size)
    {
        var whyNot = !OperatingSystem.IsLinux() ? "it needs Linux to mount a tmpfs"
            : Environment.UserName != "root" ? $"it needs root to mount a tmpfs (running as '{Environment.UserName}')"
            : await RunAsync("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mountPoint).ConfigureAwait(false);
        return whyNot is null ? (new TmpfsMount(mountPoint), null) : (null, whyNot);
    }

    /// <summary>Makes the file system read-only (even root cannot write to it then).</summary>
    public async Task RemountReadOnlyAsync()
    {
        if (await RunAsync("mount", "-o", "remount,ro", Path).ConfigureAwait(false) is { } failure)
        {
            throw new InvalidOperationException(failure);
        }
    }

    public void Dispose()
    {
        using var unmount = Process.Start("umount", new[] { "-l", Path });
        unmount.WaitForExit();
    }

    /// <returns>Null when the command exited 0, else what went wrong.</returns>
    private static async Task<string?> RunAsync(string command, params string[] arguments)
    {
        var info = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEndAsync();
            await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
            await process.WaitForExitAsync().ConfigureAwait(false);
            return process.ExitCode == 0 ? null : $"'{command} {string.Join(' ', arguments)}' failed with exit code {process.ExitCode}: {(await error.ConfigureAwait(false)).Trim()}";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"cannot run '{command}': {ex.Message}";
        }
    }
}
