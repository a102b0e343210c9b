using System;

namespace ModelCache.Store;

/// <summary>A partial download found in a cache root (Clear-ModelCache -Partial): whose it is, how big, when last written.</summary>
public sealed class PartialFile
{
    internal PartialFile(string family, string member, string fileName, string path, long size, DateTimeOffset lastWrite, string task, bool inCatalog)
    {
        Family = family;
        Member = member;
        FileName = fileName;
        Path = path;
        Size = size;
        LastWrite = lastWrite;
        Task = task;
        InCatalog = inCatalog;
    }

    /// <summary>The model's qualified name, as its cache entry would have it.</summary>
    public string Name => Family.Length == 0 ? Member : Family + "/" + Member;

    public string Family { get; }

    public string Member { get; }

    /// <summary>The model's file name (the partial is this name plus <c>.partial</c>).</summary>
    public string FileName { get; }

    /// <summary>Full path of the partial file.</summary>
    public string Path { get; }

    public long Size { get; }

    public DateTimeOffset LastWrite { get; }

    public string Task { get; }

    public bool InCatalog { get; }

    public override string ToString() => Name;
}
