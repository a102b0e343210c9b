using System; using System.IO; using System.Threading; using System.Threading.Tasks; using ModelCache.Catalog;
namespace ModelCache.Server;
/// <summary>Where the server gets a model's bytes from.</summary>
public interface IModelContentSource
{
    /// <summary>The verified content of <paramref name="model"/> from <paramref name="offset"/>: a cached file, or (pull-through) bytes as an upstream fetch writes them.
    /// Throws ModelCacheException: ModelNotCached (NotFound) when absent and not fetched, UpstreamFailed when the fetch failed.</summary>
    Task<ServedContent> OpenAsync(ModelDefinition model, long offset, CancellationToken cancellationToken);
}
/// <summary>What the server sends for one request.</summary>
public sealed class ServedContent : IDisposable
{
    public ServedContent(Stream content, long length, string sha256, DateTimeOffset lastModified, bool isComplete)
    { Content = content; Length = length; Sha256 = sha256; LastModified = lastModified; IsComplete = isComplete; }
    /// <summary>Positioned at the requested offset.</summary>
    public Stream Content { get; }
    /// <summary>The whole file's size.</summary>
    public long Length { get; }
    /// <summary>Lowercase hex; the ETag.</summary>
    public string Sha256 { get; }
    public DateTimeOffset LastModified { get; }
    /// <summary>False while streaming an in-flight fetch: such a stream throws a ModelCacheException at its end if the fetch failed verification, and the server then aborts the response.</summary>
    public bool IsComplete { get; }
    public void Dispose() => Content.Dispose();
}
/// <summary>Upstream counters for /metrics.</summary>
public interface IUpstreamStats
{
    long Fetches { get; }
    long Failures { get; }
}
