using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Primitives;
using ModelCache.Transfer;

namespace ModelCache.Bundles;

/// <summary>
/// A checked bundle as one more source for the saver, so an import goes through the same stage → verify → promote
/// path as a download: the bytes are hashed in full before anything gets its final name.
/// </summary>
public sealed class BundleSource : IModelSource
{
    private readonly Bundle _bundle;

    public BundleSource(Bundle bundle)
    {
        _bundle = bundle;
    }

    public TransferSource Kind => TransferSource.Bundle;

    public bool IsNetwork => false;

    public string Locate(ModelDefinition model) => _bundle.Location + (_bundle.IsZip ? "!" : System.IO.Path.DirectorySeparatorChar.ToString()) + model.FileName;

    /// <summary>Always from the start: a bundle entry cannot be resumed into, and re-reading it is cheap.</summary>
    public Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken)
    {
        var size = _bundle.EntryOf(model).Size;
        return Task.FromResult(new SourceContent(_bundle.OpenModel(model), 0, size, Locate(model), validator: null));
    }
}
