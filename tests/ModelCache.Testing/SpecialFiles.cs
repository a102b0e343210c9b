using System;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks;

namespace ModelCache.Testing;

/// <summary>
/// FIFOs and Unix sockets planted where ModelCache expects files, and a bound on any code that might open one: a
/// regression (an open that blocks on a FIFO) fails its test instead of hanging the suite.
/// </summary>
public static class SpecialFiles
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Replaces <paramref name="path"/> (if present) with a FIFO.</summary>
    public static void MakeFifo(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (mkfifo(path, 0x1B6) != 0)
        {
            throw new IOException($"mkfifo '{path}' failed: errno {Marshal.GetLastWin32Error()}");
        }
    }

    /// <summary>Replaces <paramref name="path"/> (if present) with a bound Unix socket; dispose the result to close it (the file stays).</summary>
    public static Socket MakeSocket(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>Runs <paramref name="action"/>; if it has not finished within <see cref="Bound"/>, every FIFO under <paramref name="root"/> is opened from the other side so it returns, and the test fails.</summary>
    public static T Bounded<T>(string root, Func<T> action) => BoundedAsync(root, () => Task.Run(action)).GetAwaiter().GetResult();

    public static async Task<T> BoundedAsync<T>(string root, Func<Task<T>> action)
    {
        var work = Task.Run(action);
        if (await Task.WhenAny(work, Task.Delay(Bound)) != work)
        {
            for (var i = 0; i < 20 && !work.IsCompleted; i++)
            {
                Release(root);
                await Task.WhenAny(work, Task.Delay(100));
            }

            throw new TimeoutException($"Still running after {Bound.TotalSeconds:0} s: something opened a FIFO under '{root}' and blocked.");
        }

        return await work;
    }

    /// <summary>Opens every FIFO under <paramref name="root"/> read-write (which never blocks on Linux) and closes it: blocked openers return, readers see end of file.</summary>
    private static void Release(string root)
    {
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            try
            {
                var fd = open(file, 2 | 0x800, 0); // O_RDWR | O_NONBLOCK
                if (fd >= 0)
                {
                    close(fd);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags, int mode);

    [DllImport("libc")]
    private static extern int close(int fd);
}
