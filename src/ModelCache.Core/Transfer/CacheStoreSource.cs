using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;

namespace ModelCache.Transfer;

/// <summary>
/// Another cache root's file of a model as a source for the saver, so a move goes through the same stage → verify →
/// promote path as a download: the bytes are hashed in full before anything gets its final name at the destination.
/// </summary>
public sealed class CacheStoreSource : IModelSource
{
    private readonly CacheStore _store;

    public CacheStoreSource(CacheStore store)
    {
        _store = store;
    }

    public TransferSource Kind => TransferSource.CacheRoot;

    public bool IsNetwork => false;

    public string Locate(ModelDefinition model) => _store.GetModelPath(model);

    public Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken)
    {
        var path = Locate(model);
        if (!_store.Layout.IsContained(path))
        {
            throw TransferException.Permanent("CacheFolderIsLink", ModelCacheErrorKind.SecurityError,
                $"'{path}' in the cache '{_store.Root}' is reached through a link, so {model.Name} is not read from it.",
                "Replace the link with the real folder or file, or remove it by hand after checking where it points.");
        }

        return Task.FromResult(DirectorySource.OpenFile(model, path, resume,
            $"Run 'Get-ModelCache -CachePath {_store.Root}' to see what that cache holds; another process may have removed {model.Name}.",
            "Check the permissions of the cache root being read."));
    }
}
