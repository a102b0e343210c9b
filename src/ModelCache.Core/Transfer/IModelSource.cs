using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Primitives;

namespace ModelCache.Transfer;

/// <summary>A place model bytes can be read from: a mirror directory, a mirror URL or the upstream URL.</summary>
public interface IModelSource
{
    TransferSource Kind { get; }

    /// <summary>True when reading opens a network connection (forbidden offline).</summary>
    bool IsNetwork { get; }

    /// <summary>Where <paramref name="model"/> would be read from, safe to show.</summary>
    string Locate(ModelDefinition model);

    /// <summary>Opens the model's bytes, from <paramref name="resume"/>'s offset when the source can honour it.</summary>
    /// <exception cref="TransferException">The source does not have the model or cannot be reached.</exception>
    Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken);
}
