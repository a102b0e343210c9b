using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>
/// Listing a hub cache by repository, as <c>hf cache scan</c> does (Get-ModelCache -Layout HuggingFace -Repository), for
/// every host: the scan runs off the caller's thread, and what it refused comes back as problems, each with its input.
/// </summary>
public sealed class HubRepoListing
{
    private readonly HubCacheBackend _backend;

    public HubRepoListing(ICacheBackend backend)
    {
        _backend = backend as HubCacheBackend ?? throw new ModelCacheException("LayoutNotSupported", ModelCacheErrorKind.InvalidArgument,
            $"'{backend.Root}' is a {backend.Kind} cache; only a Hugging Face hub cache holds repositories.", "Use -Layout HuggingFace.");
    }

    /// <summary>Every cached repo, or those <paramref name="names"/> match (see <see cref="HubCacheBackend.ListRepos"/>).</summary>
    public Task<IReadOnlyList<HubCacheRepo>> ListAsync(IReadOnlyList<string>? names, ICollection<(ModelCacheException Error, object Input)> problems, CancellationToken cancellationToken) =>
        Task.Run(() => _backend.ListRepos(names, problems, cancellationToken), cancellationToken);
}
