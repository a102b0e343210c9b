using System.IO;

namespace ModelCache.IO;

/// <summary>
/// The few file-system operations .NET has no portable API for, behind one interface so the download engine
/// (and later move, quota and import) stay OS-agnostic and testable. Every method is best effort where noted:
/// an OS or file system that cannot do it makes it a no-op, never an error.
/// </summary>
public interface IFileSystemNative
{
    /// <summary>
    /// Bytes this user may still write on the volume holding <paramref name="path"/> (a file or directory that need not
    /// exist yet: the nearest existing parent is asked), or null when the OS cannot tell.
    /// </summary>
    long? GetAvailableFreeSpace(string path);

    /// <summary>
    /// Reserves disk blocks for <paramref name="length"/> bytes from <paramref name="offset"/> without changing the
    /// file's length (so a resumed download still sees how many bytes it really holds). Best effort.
    /// </summary>
    void Preallocate(FileStream file, long offset, long length);

    /// <summary>
    /// Bytes of newly written data worth handing to <see cref="StartWriteBack"/> at once (a few MiB where the OS can
    /// flush ranges, more where it can only flush the whole file), or 0 when progressive flushing is not worth doing.
    /// </summary>
    long WriteBackGranularity { get; }

    /// <summary>Starts writing the range's dirty pages to disk without waiting for them. Best effort.</summary>
    void StartWriteBack(FileStream file, long offset, long length);

    /// <summary>
    /// Waits until the range (and possibly more of the file) has been written to disk, so dirty data stays bounded
    /// and the final fsync has little left to do. Not a durability guarantee on its own: the fsync before promotion is.
    /// </summary>
    void WaitForWriteBack(FileStream file, long offset, long length);

    /// <summary>
    /// Makes <paramref name="linkPath"/> (which must not exist) a hard link to the file <paramref name="existingPath"/>:
    /// one set of blocks under two names. False when the OS or file system refuses (another volume, FAT, no permission,
    /// a missing entry point), so the caller keeps both files.
    /// </summary>
    bool TryCreateHardLink(string existingPath, string linkPath);
}
