using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;

namespace ModelCache.Transfer;

/// <summary>
/// Stands where a <c>file:</c> catalog URL would be read when the planner must not read one (the site server): it fails
/// with its own reason instead of dropping out of the plan, so the error says why, and it never names the path.
/// </summary>
internal sealed class RefusedLocalUrlSource : IModelSource
{
    public const string ErrorId = "LocalCatalogUrlRefused";

    public TransferSource Kind => TransferSource.Upstream;

    public bool IsNetwork => false;

    public string Locate(ModelDefinition model) => "the catalog's local file URL (not read)";

    public Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken) =>
        throw TransferException.Permanent(ErrorId, ModelCacheErrorKind.SecurityError,
            $"The catalog URL of {model.Name} is a local file, which the server never reads for a client.",
            $"Give the server a -Mirror (an http(s) URL or a directory) holding '{model.FileName}', or give the catalog entry an http(s) url.");
}
