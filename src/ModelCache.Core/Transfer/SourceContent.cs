using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

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

    /// <summary>
    /// Opens bytes [from, to] of the same file through the same source (its redirect and credential rules), sent with
    /// If-Range: the given validator. Set only when the source said it serves byte ranges (Accept-Ranges: bytes or a 206)
    /// and gave a validator; segmented downloads need it.
    /// </summary>
    public Func<long, long, string, CancellationToken, Task<SourceContent>>? OpenRange { get; set; }

    /// <summary>Last byte of the body for a 206 (Content-Range's end); null otherwise.</summary>
    public long? RangeEnd { get; set; }

    /// <summary>scheme://host:port the ranges come from: the key of the per-host connection budget.</summary>
    public string? Host { get; set; }

    public void Dispose()
    {
        Content.Dispose();
        _owner?.Dispose();
    }
}
