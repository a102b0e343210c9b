using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using ModelCache.Errors;

namespace ModelCache.IO;

/// <summary>
/// The one way ModelCache opens a file to read or write it. A cache root, a mirror folder or a bundle may come from a
/// stranger, and opening a FIFO blocks until another process opens its other end (forever, for a cmdlet or the server),
/// while a socket or device is no model file either. So every open here refuses anything that is not a regular file
/// with <see cref="NotARegularFileException"/>: the path is checked before the open, and the opened handle after it.
/// On Linux the open itself cannot block either, even if the path is swapped for a FIFO between the check and the
/// open: the path is first opened with O_NONBLOCK, that descriptor is checked, and the stream is then opened through
/// <c>/proc/self/fd/N</c>, which reaches exactly the checked file, so FileStream's own semantics (sharing, truncation)
/// stay as they are (only <see cref="FileStream.Name"/> is then the descriptor's link: name files by the caller's path).
/// Elsewhere the window between the check and the open remains.
/// </summary>
public static class RegularFile
{
    private const int DefaultBufferSize = 4096;

    /// <summary>Opens <paramref name="path"/> like the FileStream constructor, refusing anything but a regular file.</summary>
    /// <exception cref="NotARegularFileException">The path is a directory, FIFO, socket or device.</exception>
    public static FileStream Open(string path, FileMode mode, FileAccess access, FileShare share, int bufferSize = DefaultBufferSize, FileOptions options = FileOptions.None)
    {
        Check(path);
        if (Unix.CanOpenWithoutBlocking)
        {
            return Unix.OpenWithoutBlocking(path, mode, access, share, bufferSize, options);
        }

        var stream = new FileStream(path, mode, access, share, bufferSize, options);
        try
        {
            if (KindOf(stream.SafeFileHandle) is not (FileKind.Regular or FileKind.Unknown) and var kind)
            {
                throw new NotARegularFileException(path, kind);
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        return stream;
    }

    /// <summary>Opens an existing file for sequential reading (shared with readers).</summary>
    public static FileStream OpenRead(string path, int bufferSize = DefaultBufferSize, FileOptions options = FileOptions.SequentialScan, FileShare share = FileShare.Read) =>
        Open(path, FileMode.Open, FileAccess.Read, share, bufferSize, options);

    /// <summary>File.ReadAllText (UTF-8 unless a byte order mark says otherwise) through the guard.</summary>
    public static string ReadAllText(string path)
    {
        using var stream = OpenRead(path);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>Throws <see cref="NotARegularFileException"/> when <paramref name="path"/> exists and is not a regular file (links followed).</summary>
    public static void Check(string path)
    {
        if (KindOf(path) is not (FileKind.Missing or FileKind.Regular or FileKind.Unknown) and var kind)
        {
            throw new NotARegularFileException(path, kind);
        }
    }

    /// <summary>What <paramref name="path"/> names, links followed, without opening it.</summary>
    public static FileKind KindOf(string path)
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            try
            {
                var attributes = File.GetAttributes(path);
                return (attributes & FileAttributes.Directory) != 0 ? FileKind.Directory
                    : (attributes & FileAttributes.Device) != 0 ? FileKind.Other
                    : FileKind.Regular;
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                return FileKind.Missing;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return FileKind.Unknown; // The open that follows reports it.
            }
        }

        return Unix.KindOf(path);
    }

    private static FileKind KindOf(SafeFileHandle handle) =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? Windows.KindOf(handle) : Unix.KindOf(handle);

    private static FileKind FromMode(int mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0x1000 => FileKind.Fifo,
        0xC000 => FileKind.Socket,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        0xA000 => FileKind.Link,
        _ => FileKind.Other,
    };

    private static class Windows
    {
        private const uint FileTypeDisk = 1;

        /// <summary>GetFileType: a disk file, or a pipe, console or other device. Untested here (no Windows on the build machine).</summary>
        public static FileKind KindOf(SafeFileHandle handle)
        {
            try
            {
                return GetFileType(handle) == FileTypeDisk ? FileKind.Regular : FileKind.Other;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                return FileKind.Unknown;
            }
        }

        [DllImport("kernel32.dll")]
        private static extern uint GetFileType(SafeFileHandle file);
    }

    /// <summary>
    /// Linux through libc (statx, whose layout is the same on every architecture, and open with O_NONBLOCK); other Unix
    /// systems through the .NET runtime's own System.Native shim (stat/fstat with a layout .NET fixes), without the
    /// non-blocking open.
    /// </summary>
    private static class Unix
    {
        private const int AtFdCwd = -100, AtEmptyPath = 0x1000, StatxType = 0x1, StatxModeOffset = 28, StatxSize = 256;
        private const int ORdOnly = 0, OWrOnly = 1, ORdWr = 2, OCreat = 0x40, OExcl = 0x80, ONonBlock = 0x800, OCloExec = 0x80000;
        private const int ENOENT = 2, ENXIO = 6, ENOTDIR = 20, EISDIR = 21, ELOOP = 40;
        private const int CreateMode = 0x1B6; // 0666, before the umask: what FileStream creates files with.
        private static readonly bool IsLinux = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
        private static readonly Lazy<bool> ProcFdAvailable = new(() => IsLinux && Directory.Exists("/proc/self/fd"));
        private static volatile bool _nativeWorks = true;

        /// <summary>The open flag values above are Linux's generic ones, true on x86, x64, ARM and ARM64.</summary>
        public static bool CanOpenWithoutBlocking =>
            _nativeWorks && ProcFdAvailable.Value
            && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64 or Architecture.X86 or Architecture.Arm;

        public static FileKind KindOf(string path)
        {
            if (!_nativeWorks)
            {
                return FileKind.Unknown;
            }

            var buffer = new byte[StatxSize];
            try
            {
                if (IsLinux)
                {
                    return statx(AtFdCwd, path, 0, StatxType, buffer) == 0 ? FromMode(BitConverter.ToUInt16(buffer, StatxModeOffset)) : FromErrno(Marshal.GetLastWin32Error());
                }

                return SystemNative_Stat(path, buffer) == 0 ? FromMode(BitConverter.ToInt32(buffer, 4)) : FromErrno(Marshal.GetLastWin32Error());
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                _nativeWorks = false; // An old C library: only the open's own checks (a directory) remain.
                return FileKind.Unknown;
            }
        }

        public static FileKind KindOf(SafeFileHandle handle)
        {
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                return KindOf(handle.DangerousGetHandle().ToInt32());
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }

        private static FileKind KindOf(int fd)
        {
            if (!_nativeWorks)
            {
                return FileKind.Unknown;
            }

            var buffer = new byte[StatxSize];
            try
            {
                if (IsLinux)
                {
                    return statx(fd, string.Empty, AtEmptyPath, StatxType, buffer) == 0 ? FromMode(BitConverter.ToUInt16(buffer, StatxModeOffset)) : FileKind.Unknown;
                }

                return SystemNative_FStat(new IntPtr(fd), buffer) == 0 ? FromMode(BitConverter.ToInt32(buffer, 4)) : FileKind.Unknown;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                _nativeWorks = false;
                return FileKind.Unknown;
            }
        }

        private static FileKind FromErrno(int errno) => errno is ENOENT or ENOTDIR ? FileKind.Missing : FileKind.Unknown;

        public static FileStream OpenWithoutBlocking(string path, FileMode mode, FileAccess access, FileShare share, int bufferSize, FileOptions options)
        {
            var flags = (access switch { FileAccess.Read => ORdOnly, FileAccess.Write => OWrOnly, _ => ORdWr }) | ONonBlock | OCloExec
                | mode switch { FileMode.CreateNew => OCreat | OExcl, FileMode.Create or FileMode.OpenOrCreate or FileMode.Append => OCreat, _ => 0 };
            int fd;
            try
            {
                fd = open(path, flags, CreateMode);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                _nativeWorks = false;
                return new FileStream(path, mode, access, share, bufferSize, options);
            }

            if (fd < 0)
            {
                var errno = Marshal.GetLastWin32Error();
                if (errno is ENXIO or EISDIR)
                {
                    // ENXIO: a FIFO opened for writing with no reader, or a socket; EISDIR: a directory opened for writing.
                    throw new NotARegularFileException(path, KindOf(path) is var kind and not (FileKind.Regular or FileKind.Missing or FileKind.Unknown) ? kind : FileKind.Other);
                }

                if (errno != ELOOP && KindOf(path) is FileKind.Missing or FileKind.Regular)
                {
                    // Missing folder, access denied, already exists: FileStream reports these as it always has.
                    return new FileStream(path, mode, access, share, bufferSize, options);
                }

                throw new IOException($"Cannot open '{path}' (errno {errno}).");
            }

            var created = false;
            try
            {
                created = mode == FileMode.CreateNew;
                if (KindOf(fd) is not (FileKind.Regular or FileKind.Unknown) and var kind)
                {
                    throw new NotARegularFileException(path, kind);
                }

                // The descriptor already created the file where the mode asked for it; FileStream now takes the
                // checked file as it is (Create and Truncate still truncate, after FileStream's sharing lock).
                var reopen = mode is FileMode.CreateNew or FileMode.OpenOrCreate ? FileMode.Open : mode;
                var stream = Reopen($"/proc/self/fd/{fd}", path, reopen, access, share, bufferSize, options);
                created = false;
                return stream;
            }
            finally
            {
                close(fd);
                if (created)
                {
                    try
                    {
                        File.Delete(path);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                    }
                }
            }
        }

        /// <summary>FileStream on the descriptor's link, with its errors naming the path the caller gave.</summary>
        private static FileStream Reopen(string link, string path, FileMode mode, FileAccess access, FileShare share, int bufferSize, FileOptions options)
        {
            try
            {
                return new FileStream(link, mode, access, share, bufferSize, options);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new UnauthorizedAccessException(ex.Message.Replace(link, path), ex);
            }
            catch (IOException ex) when (ex.GetType() == typeof(IOException))
            {
                throw new RenamedIOException(ex.Message.Replace(link, path), ex);
            }
        }

        /// <summary>An IOException as FileStream raised it (its HResult kept: disk full, sharing violation), naming the caller's path.</summary>
        private sealed class RenamedIOException : IOException
        {
            public RenamedIOException(string message, IOException inner)
                : base(message, inner)
            {
                HResult = inner.HResult;
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int statx(int dirfd, string pathname, int flags, uint mask, byte[] statxbuf);

        [DllImport("libc", SetLastError = true)]
        private static extern int open(string pathname, int flags, int mode);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int fd);

        [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
        private static extern int SystemNative_Stat(string path, byte[] output);

        [DllImport("libSystem.Native", EntryPoint = "SystemNative_FStat", SetLastError = true)]
        private static extern int SystemNative_FStat(IntPtr fd, byte[] output);
    }
}
