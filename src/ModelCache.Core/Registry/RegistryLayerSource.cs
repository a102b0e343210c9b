using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Transfer;

namespace ModelCache.Registry;

/// <summary>
/// A bundle artifact's layers as a source for the saver: a model whose layer descriptor lies about its size or digest
/// (or is missing) fails alone, before any byte is read; the others are the blobs of their catalog SHA-256, read by the
/// registry mirror's source, so the transfer engine's checks (announced size, caps, hash before promotion) apply.
/// </summary>
internal sealed class RegistryLayerSource : IModelSource
{
    private readonly RegistryBundle _bundle;
    private readonly IModelSource _blobs;

    public RegistryLayerSource(RegistryBundle bundle, IModelSource blobs)
    {
        _bundle = bundle;
        _blobs = blobs;
    }

    public TransferSource Kind => TransferSource.Bundle;

    public bool IsNetwork => true;

    public string Locate(ModelDefinition model) => _blobs.Locate(model);

    public Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken)
    {
        if (_bundle.LayerProblem(model) is { } problem)
        {
            throw TransferException.Permanent("RegistryLayerMismatch", ModelCacheErrorKind.InvalidData,
                $"{model.Name} is not imported: {problem}. Nothing was saved for it.",
                "Push the bundle again with 'Export-ModelCache -Registry'; the other models of the artifact are imported on their own.");
        }

        return _blobs.OpenAsync(model, resume, cancellationToken);
    }
}
