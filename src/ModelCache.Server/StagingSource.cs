using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Primitives;
using ModelCache.Transfer;

namespace ModelCache.Server;

/// <summary>
/// A planned source of a pull-through fetch that tells the fetch's <see cref="StagedBytes"/> whether the attempt it opens
/// may be streamed: only HTTP(S) upstreams are; a local source is copied and verified in full before its first byte is sent.
/// </summary>
internal sealed class StagingSource : IModelSource
{
    private readonly IModelSource _inner;
    private readonly StagedBytes _staged;

    public StagingSource(IModelSource inner, StagedBytes staged)
    {
        _inner = inner;
        _staged = staged;
    }

    public TransferSource Kind => _inner.Kind;

    public bool IsNetwork => _inner.IsNetwork;

    public string Locate(ModelDefinition model) => _inner.Locate(model);

    public Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken)
    {
        _staged.BeginAttempt(_inner.IsNetwork);
        return _inner.OpenAsync(model, resume, cancellationToken);
    }
}
