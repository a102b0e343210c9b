using System;
using System.IO;
using ModelCache.IO;
using ModelCache.Testing;
using ModelCache.Errors;

namespace ModelCache.Core.Tests;

/// <summary>
/// The one guard every file open goes through: a FIFO, socket or directory is refused in every mode, without
/// blocking, and a regular file keeps FileStream's semantics (sharing between handles, truncation, errors that name
/// the caller's path).
/// </summary>
public sealed class RegularFileTests : IDisposable
{
    private readonly TempDirectory _temp = new("modelcache-regular");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(FileMode.Open, FileAccess.Read)]
    [InlineData(FileMode.Open, FileAccess.Write)]
    [InlineData(FileMode.OpenOrCreate, FileAccess.ReadWrite)]
    [InlineData(FileMode.Create, FileAccess.Write)]
    [InlineData(FileMode.Truncate, FileAccess.Write)]
    [InlineData(FileMode.Append, FileAccess.Write)]
    public void A_fifo_a_socket_and_a_directory_are_refused_in_every_mode_without_blocking(FileMode mode, FileAccess access)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fifo = _temp.Combine("fifo");
        SpecialFiles.MakeFifo(fifo);
        using var socket = SpecialFiles.MakeSocket(_temp.Combine("socket"));
        var directory = _temp.Combine("directory");
        Directory.CreateDirectory(directory);

        foreach (var (path, kind) in new[] { (fifo, FileKind.Fifo), (_temp.Combine("socket"), FileKind.Socket), (directory, FileKind.Directory) })
        {
            var refused = SpecialFiles.Bounded(_temp.Path, () => Assert.Throws<NotARegularFileException>(() => RegularFile.Open(path, mode, access, FileShare.Read).Dispose()));
            Assert.Equal(kind, refused.FileKind);
            Assert.Equal(path, refused.Path);
        }

        Assert.Throws<NotARegularFileException>(() => SpecialFiles.Bounded(_temp.Path, () => RegularFile.ReadAllText(fifo)));
    }

    [Fact]
    public void A_regular_file_keeps_FileStream_sharing_truncation_and_error_paths()
    {
        var path = _temp.Combine("file.bin");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });

        using (var exclusive = RegularFile.Open(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var shared = Assert.ThrowsAny<IOException>(() => RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite).Dispose());
            Assert.IsNotType<NotARegularFileException>(shared);
            Assert.DoesNotContain("/proc/", shared.Message);
        }

        using (var created = RegularFile.Open(path, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            Assert.Equal(0, created.Length);
            created.WriteByte(9);
        }

        Assert.Equal(new byte[] { 9 }, File.ReadAllBytes(path));
        var exists = Assert.ThrowsAny<IOException>(() => RegularFile.Open(path, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose());
        Assert.Contains(path, exists.Message);
        Assert.Throws<FileNotFoundException>(() => RegularFile.Open(_temp.Combine("absent"), FileMode.Open, FileAccess.Read, FileShare.Read).Dispose());

        using (var fresh = RegularFile.Open(_temp.Combine("new.bin"), FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            fresh.WriteByte(1);
        }

        Assert.Equal(1, new FileInfo(_temp.Combine("new.bin")).Length);
    }
}
