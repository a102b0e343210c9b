using System;
using System.IO;

namespace ModelCache.Transfer;

/// <summary>An open model body: the bytes, their announced length and where they come from.</summary>
public sealed class SourceContent : IDisposable
{
    private readonly IDisposable? _owner;

    public SourceContent(Stream content, long? length, string location, IDisposable? owner = null)
    {
        Content = content;
        Length = length;
        Location = location;
        _owner = owner;
    }

    public Stream Content { get; }

    /// <summary>Content-Length or file size; null when the server does not say.</summary>
    public long? Length { get; }

    /// <summary>URL or path, safe to show (no credentials).</summary>
    public string Location { get; }

    public void Dispose()
    {
        Content.Dispose();
        _owner?.Dispose();
    }
}
