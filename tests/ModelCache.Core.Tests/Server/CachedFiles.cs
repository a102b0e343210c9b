using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Server;
using ModelCache.Store;

namespace ModelCache.Core.Tests.Server;

/// <summary>The cached source the pull-through sits on, as small as the tests need: verified files of one store, counted.</summary>
internal sealed class CachedFiles : IModelContentSource
{
    private readonly CacheStore _store;
    private readonly VerifiedModelOpener _opener = new();
    private int _served;

    public CachedFiles(CacheStore store)
    {
        _store = store;
    }

    public int Served => Volatile.Read(ref _served);

    public async Task<ServedContent> OpenAsync(ModelDefinition model, long offset, CancellationToken cancellationToken)
    {
        if (await _opener.TryOpenAsync(_store, model, null, cancellationToken) is not { } opened)
        {
            throw new ModelCacheException(PullThroughContentSource.NotCachedErrorId, ModelCacheErrorKind.NotFound, $"{model.Name} is not cached.");
        }

        var file = new FileStream(opened.Entry.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        file.Seek(offset, SeekOrigin.Begin);
        Interlocked.Increment(ref _served);
        return new ServedContent(file, file.Length, model.Sha256, File.GetLastWriteTimeUtc(opened.Entry.Path), isComplete: true);
    }
}
