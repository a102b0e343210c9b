using System;
using System.IO;

namespace ModelCache.Transfer;

/// <summary>An open model body: the bytes, where they start, and where they come from.</summary>
public sealed class SourceContent : IDisposable
{
    private readonly IDisposable? _owner;

    public SourceContent(Stream content, long offset, long? totalLength, string location, string? validator, IDisposable? owner = null)
    {
        Content = content;
        Offset = offset;
        TotalLength = totalLength;
        Location = location;
        Validator = validator;
        _owner = owner;
    }

    public Stream Content { get; }

    /// <summary>Byte offset of the first byte of <see cref="Content"/>: non-zero only when a resume was honoured.</summary>
    public long Offset { get; }

    /// <summary>Size of the whole file when the source says (Content-Length, Content-Range or file size).</summary>
    public long? TotalLength { get; }

    /// <summary>URL or path, safe to show (no credentials).</summary>
    public string Location { get; }

    /// <summary>ETag or Last-Modified, kept to validate a later resume.</summary>
    public string? Validator { get; }

    public void Dispose()
    {
        Content.Dispose();
        _owner?.Dispose();
    }
}
