using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;

namespace ModelCache.Server;

/// <summary>Where the server gets a model's bytes from.</summary>
public interface IModelContentSource
{
    /// <summary>
    /// The verified content of <paramref name="model"/> from <paramref name="offset"/>: a cached file, or (pull-through)
    /// bytes as an upstream fetch writes them.
    /// </summary>
    /// <exception cref="Errors.ModelCacheException">ModelNotCached (NotFound) when absent and not fetched, UpstreamFailed when the fetch failed.</exception>
    Task<ServedContent> OpenAsync(ModelDefinition model, long offset, CancellationToken cancellationToken);
}

/// <summary>A model's bytes as the server sends them, with what its validators (ETag, Last-Modified) say.</summary>
public sealed class ServedContent : IDisposable
{
    public ServedContent(Stream content, long length, string sha256, DateTimeOffset lastModified, bool isComplete)
    {
        Content = content;
        Length = length;
        Sha256 = sha256;
        LastModified = lastModified;
        IsComplete = isComplete;
    }

    /// <summary>Positioned at the requested offset.</summary>
    public Stream Content { get; }

    /// <summary>The whole file's size.</summary>
    public long Length { get; }

    /// <summary>Lowercase hex; the ETag.</summary>
    public string Sha256 { get; }

    public DateTimeOffset LastModified { get; }

    /// <summary>
    /// False while streaming an in-flight fetch; such a stream throws ModelCacheException at its end if the fetch
    /// failed verification, and the server must then abort the response (never complete it).
    /// </summary>
    public bool IsComplete { get; }

    public void Dispose() => Content.Dispose();
}

/// <summary>Upstream counters a content source may keep (pull-through); /metrics reads them, 0 for a source without.</summary>
public interface IUpstreamStats
{
    long Fetches { get; }

    long Failures { get; }
}
