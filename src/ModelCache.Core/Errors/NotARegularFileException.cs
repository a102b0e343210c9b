using System.IO;

namespace ModelCache.Errors;

/// <summary>
/// A directory, FIFO, socket or device where a file was to be read or written. An <see cref="IOException"/>, so every
/// caller that already reports an I/O failure of one item and goes on does the same for it (see
/// <see cref="Errors.CacheIOFailure"/>, which gives it the id <c>NotARegularFile</c>).
/// </summary>
public sealed class NotARegularFileException : IOException
{
    public NotARegularFileException(string path, FileKind kind)
        : base($"'{path}' is {Describe(kind)}, not a regular file; ModelCache does not open it.")
    {
        Path = path;
        FileKind = kind;
    }

    public string Path { get; }

    public FileKind FileKind { get; }

    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Directory => "a directory",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.Socket => "a socket",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Link => "a symbolic link",
        _ => "a special file",
    };
}

/// <summary>What a path names, as far as <see cref="RegularFile"/> cares.</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,
    Fifo,
    Socket,
    CharacterDevice,
    BlockDevice,
    Link,

    /// <summary>Anything else (a Windows device, a type this OS cannot tell).</summary>
    Other,

    /// <summary>The OS could not say (no native call available): treated as a regular file.</summary>
    Unknown,
}
