using System.Collections.Generic;
using System.IO;
using ModelCache.IO;

namespace ModelCache.Core.Tests;

/// <summary>An <see cref="IFileSystemNative"/> with a chosen free space that records the calls the copier makes.</summary>
internal sealed class FakeFileSystem : IFileSystemNative
{
    public long? FreeSpace { get; set; }

    public long WriteBackGranularity { get; set; }

    public List<(long Offset, long Length)> Preallocated { get; } = new();

    public List<(long Offset, long Length)> Started { get; } = new();

    public List<(long Offset, long Length)> Waited { get; } = new();

    public long? GetAvailableFreeSpace(string path) => FreeSpace;

    public void Preallocate(FileStream file, long offset, long length)
    {
        lock (Preallocated)
        {
            Preallocated.Add((offset, length));
        }
    }

    public void StartWriteBack(FileStream file, long offset, long length)
    {
        lock (Started)
        {
            Started.Add((offset, length));
        }
    }

    public void WaitForWriteBack(FileStream file, long offset, long length)
    {
        lock (Waited)
        {
            Waited.Add((offset, length));
        }
    }

    /// <summary>Whether hard links "work"; the real OS call is made when they do, so tests see real links.</summary>
    public bool HardLinks { get; set; }

    public bool TryCreateHardLink(string existingPath, string linkPath) => HardLinks && ModelCache.IO.NativeFileSystem.Current.TryCreateHardLink(existingPath, linkPath);
}
