using System;
using System.IO;
using System.Runtime.InteropServices;

namespace ModelCache.Integrity;

/// <summary>
/// What identifies a file's content without reading it: size, last write time, and where the OS tells,
/// the file id (inode) and the change time, which user tools cannot set back (a bit flip followed by
/// <c>touch -d</c> to restore the write time still changes it).
/// </summary>
public readonly struct FileFingerprint : IEquatable<FileFingerprint>
{
    public FileFingerprint(long size, long lastWriteTicks, ulong fileId, long changeTicks)
    {
        Size = size;
        LastWriteTicks = lastWriteTicks;
        FileId = fileId;
        ChangeTicks = changeTicks;
    }

    public long Size { get; }

    public long LastWriteTicks { get; }

    /// <summary>The inode on Linux; 0 where the OS does not tell.</summary>
    public ulong FileId { get; }

    /// <summary>The status change time (ctime) on Linux; 0 where the OS does not tell.</summary>
    public long ChangeTicks { get; }

    public bool Equals(FileFingerprint other) =>
        Size == other.Size && LastWriteTicks == other.LastWriteTicks && FileId == other.FileId && ChangeTicks == other.ChangeTicks;

    public override bool Equals(object? obj) => obj is FileFingerprint other && Equals(other);

    public override int GetHashCode() => (Size, LastWriteTicks, FileId, ChangeTicks).GetHashCode();

    public override string ToString() => $"{Size}:{LastWriteTicks}:{FileId}:{ChangeTicks}";

    /// <summary>Parses <see cref="ToString"/>; null for anything else.</summary>
    public static FileFingerprint? Parse(string? text)
    {
        var parts = text?.Split(':');
        return parts is { Length: 4 } && long.TryParse(parts[0], out var size) && long.TryParse(parts[1], out var write)
            && ulong.TryParse(parts[2], out var id) && long.TryParse(parts[3], out var change)
            ? new FileFingerprint(size, write, id, change)
            : null;
    }
}

/// <summary>File ids, change times and ownership, which .NET has no API for: statx(2) on Linux.</summary>
public static class FileIdentity
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxSize = 256;

    /// <summary>The fingerprint of the file itself (a link is not followed); null when it cannot be read.</summary>
    public static FileFingerprint? Read(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return null;
            }

            var status = Statx(path);
            return new FileFingerprint(info.Length, info.LastWriteTimeUtc.Ticks, status?.Inode ?? 0, status?.ChangeTicks ?? 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when only the current user (or root) can write <paramref name="path"/> and the folders above it
    /// up to <paramref name="root"/>, so that nobody else can have changed it since this user last looked.
    /// Only Linux can tell here; elsewhere false, and callers hash.
    /// </summary>
    public static bool IsWritableOnlyByCurrentUser(string root, string path)
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            return false;
        }

        uint user;
        try
        {
            user = geteuid();
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }

        var fullRoot = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        for (var current = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar); ; current = Path.GetDirectoryName(current)!)
        {
            var status = Statx(current);
            const ushort groupOrOtherWrite = 0x10 | 0x02; // S_IWGRP | S_IWOTH
            if (status is null || (status.Value.Uid != user && status.Value.Uid != 0) || (status.Value.Mode & groupOrOtherWrite) != 0)
            {
                return false;
            }

            if (string.Equals(current, fullRoot, StringComparison.Ordinal) || Path.GetDirectoryName(current) is null)
            {
                return true;
            }
        }
    }

    private static (ulong Inode, long ChangeTicks, uint Uid, ushort Mode)? Statx(string path)
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            return null;
        }

        var buffer = new byte[StatxSize];
        try
        {
            if (statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buffer) != 0)
            {
                return null;
            }
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return null; // An older C library: no file ids, so callers fall back to hashing across processes.
        }

        // struct statx: stx_uid at 20, stx_mode at 28, stx_ino at 32, stx_ctime {s64 sec; u32 nsec} at 96.
        var uid = BitConverter.ToUInt32(buffer, 20);
        var mode = BitConverter.ToUInt16(buffer, 28);
        var inode = BitConverter.ToUInt64(buffer, 32);
        var changeSeconds = BitConverter.ToInt64(buffer, 96);
        var changeNanoseconds = BitConverter.ToUInt32(buffer, 104);
        return (inode, (changeSeconds * TimeSpan.TicksPerSecond) + (changeNanoseconds / 100), uid, mode);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, string pathname, int flags, uint mask, byte[] statxbuf);

    [DllImport("libc")]
    private static extern uint geteuid();
}
