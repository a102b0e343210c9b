using System;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ModelCache.IO;

/// <summary>
/// <see cref="IFileSystemNative"/> for the running OS: Linux through libc (<c>fallocate</c>, <c>sync_file_range</c>,
/// <c>statvfs</c> via DriveInfo), Windows through kernel32 (<c>SetFileInformationByHandle(FileAllocationInfo)</c>,
/// <c>FlushFileBuffers</c>, <c>GetDiskFreeSpaceEx</c>), anything else through portable .NET only.
/// A native call that fails (old kernel, file system without the feature, missing entry point) disables itself
/// and falls back to doing nothing; the fsync before promotion stays the durability guarantee.
/// </summary>
public abstract class NativeFileSystem : IFileSystemNative
{
    private static readonly Lazy<NativeFileSystem> CurrentInstance = new(Create);

    /// <summary>The implementation for this OS.</summary>
    public static IFileSystemNative Current => CurrentInstance.Value;

    public virtual long WriteBackGranularity => 0;

    public virtual long? GetAvailableFreeSpace(string path)
    {
        var existing = NearestExisting(path);
        if (existing is null)
        {
            return null;
        }

        try
        {
            // On Unix DriveInfo calls statvfs on the name it is given, so any path on the volume works.
            return new DriveInfo(RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? Path.GetPathRoot(existing)! : existing).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    public virtual void Preallocate(FileStream file, long offset, long length)
    {
    }

    public virtual void StartWriteBack(FileStream file, long offset, long length)
    {
    }

    public virtual void WaitForWriteBack(FileStream file, long offset, long length)
    {
    }

    /// <summary>link(2): Linux, macOS and other Unix systems.</summary>
    public virtual bool TryCreateHardLink(string existingPath, string linkPath)
    {
        try
        {
            return link(existingPath, linkPath) == 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int link(string existingPath, string linkPath);

    /// <summary>The path itself when it exists, else its nearest existing parent directory.</summary>
    protected static string? NearestExisting(string path)
    {
        try
        {
            for (var current = Path.GetFullPath(path); !string.IsNullOrEmpty(current); current = Path.GetDirectoryName(current))
            {
                if (Directory.Exists(current) || File.Exists(current))
                {
                    return current;
                }
            }
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException or System.Security.SecurityException)
        {
        }

        return null;
    }

    private static NativeFileSystem Create() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? new LinuxFileSystem()
        : RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? new WindowsFileSystem()
        : new PortableFileSystem();

    /// <summary>macOS and others: free space through DriveInfo, no preallocation or progressive flushing.</summary>
    private sealed class PortableFileSystem : NativeFileSystem
    {
    }

    private sealed class LinuxFileSystem : NativeFileSystem
    {
        private const int FallocKeepSize = 1;
        private const uint SyncFileRangeWaitBefore = 1, SyncFileRangeWrite = 2, SyncFileRangeWaitAfter = 4;
        private volatile bool _fallocateWorks = true;
        private volatile bool _syncRangeWorks = true;

        public override long WriteBackGranularity => _syncRangeWorks ? 8L << 20 : 0;

        public override void Preallocate(FileStream file, long offset, long length)
        {
            if (!_fallocateWorks || length <= 0)
            {
                return;
            }

            // FALLOC_FL_KEEP_SIZE: blocks are reserved, st_size is unchanged (EOPNOTSUPP on some file systems: ignored).
            var error = Call(file.SafeFileHandle, fd => fallocate(fd, FallocKeepSize, offset, length));
            if (error is EntryPointMissing or ENOSYS or EOPNOTSUPP)
            {
                _fallocateWorks = false;
            }
        }

        public override void StartWriteBack(FileStream file, long offset, long length) => SyncRange(file, offset, length, SyncFileRangeWrite);

        public override void WaitForWriteBack(FileStream file, long offset, long length) =>
            SyncRange(file, offset, length, SyncFileRangeWaitBefore | SyncFileRangeWrite | SyncFileRangeWaitAfter);

        private const int EntryPointMissing = -1, ENOSYS = 38, EOPNOTSUPP = 95, ESPIPE = 29;

        private void SyncRange(FileStream file, long offset, long length, uint flags)
        {
            if (!_syncRangeWorks || length <= 0)
            {
                return;
            }

            var error = Call(file.SafeFileHandle, fd => sync_file_range(fd, offset, length, flags));
            if (error is EntryPointMissing or ENOSYS or EOPNOTSUPP or ESPIPE)
            {
                _syncRangeWorks = false;
            }
        }

        /// <summary>Runs a libc call on the file's descriptor, kept alive for the call: 0, the errno, or -1 when libc lacks it.</summary>
        private static int Call(SafeFileHandle handle, Func<int, int> call)
        {
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                return call(handle.DangerousGetHandle().ToInt32()) == 0 ? 0 : Marshal.GetLastWin32Error();
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                return EntryPointMissing;
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int fallocate(int fd, int mode, long offset, long len);

        [DllImport("libc", SetLastError = true)]
        private static extern int sync_file_range(int fd, long offset, long nbytes, uint flags);
    }

    /// <summary>
    /// Windows has no range flush: FlushFileBuffers writes the whole file (and the device cache) and blocks, so it is
    /// called rarely (every 64 MiB), only on the waiting step, which the copier runs beside the next network read.
    /// Untested here (no Windows on the build machine): every call is checked and a failure turns the feature off.
    /// </summary>
    private sealed class WindowsFileSystem : NativeFileSystem
    {
        private const int FileAllocationInfoClass = 5;
        private volatile bool _allocationWorks = true;
        private volatile bool _flushWorks = true;

        public override long WriteBackGranularity => _flushWorks ? 64L << 20 : 0;

        public override long? GetAvailableFreeSpace(string path)
        {
            var existing = NearestExisting(path);
            if (existing is null)
            {
                return null;
            }

            var directory = Directory.Exists(existing) ? existing : Path.GetDirectoryName(existing);
            try
            {
                // Honours per-user quotas and works for UNC paths and mount folders, unlike DriveInfo.
                if (GetDiskFreeSpaceEx(directory!.EndsWith("\\", StringComparison.Ordinal) ? directory : directory + "\\", out var available, out _, out _))
                {
                    return available > long.MaxValue ? long.MaxValue : (long)available;
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
            }

            return base.GetAvailableFreeSpace(path);
        }

        public override void Preallocate(FileStream file, long offset, long length)
        {
            if (!_allocationWorks || length <= 0)
            {
                return;
            }

            // FILE_ALLOCATION_INFO.AllocationSize: reserves clusters; the end of file (the resume point) is unchanged.
            var info = new FileAllocationInfo { AllocationSize = checked(offset + length) };
            try
            {
                if (!SetFileInformationByHandle(file.SafeFileHandle, FileAllocationInfoClass, ref info, (uint)Marshal.SizeOf<FileAllocationInfo>()))
                {
                    _allocationWorks = false;
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or OverflowException)
            {
                _allocationWorks = false;
            }
        }

        public override void WaitForWriteBack(FileStream file, long offset, long length)
        {
            if (!_flushWorks)
            {
                return;
            }

            try
            {
                if (!FlushFileBuffers(file.SafeFileHandle))
                {
                    _flushWorks = false;
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                _flushWorks = false;
            }
        }

        public override bool TryCreateHardLink(string existingPath, string linkPath)
        {
            try
            {
                return CreateHardLink(linkPath, existingPath, IntPtr.Zero);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                return false;
            }
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct FileAllocationInfo
        {
            public long AllocationSize;
        }

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool SetFileInformationByHandle(SafeFileHandle file, int fileInformationClass, ref FileAllocationInfo info, uint bufferSize);

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool FlushFileBuffers(SafeFileHandle file);

        [DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool CreateHardLink(string fileName, string existingFileName, IntPtr securityAttributes);

        [DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool GetDiskFreeSpaceEx(string directoryName, out ulong freeBytesAvailable, out ulong totalNumberOfBytes, out ulong totalNumberOfFreeBytes);
    }
}
