using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Store;

namespace ModelCache.Server;

/// <summary>
/// Serves verified files of one cache root and nothing else: a file is checked with <see cref="VerifiedModelOpener"/>
/// (hashed once per process, or trusted from this user's fingerprints), and the handle opened afterwards is served only
/// if the path still shows the fingerprint that verified, so a file swapped in between is never sent.
/// </summary>
public sealed class CachedContentSource : IModelContentSource
{
    /// <summary>Large sequential reads, as the cache hashes with: serving stays I/O-bound rather than call-bound.</summary>
    private const int ReadBufferSize = 1 << 20;

    private readonly VerifiedModelOpener _opener;
    private readonly FingerprintStore? _fingerprints;

    public CachedContentSource(CacheStore store, VerifiedModelOpener opener, FingerprintStore? fingerprints)
    {
        Store = store;
        _opener = opener;
        _fingerprints = fingerprints;
    }

    public CacheStore Store { get; }

    public async Task<ServedContent> OpenAsync(ModelDefinition model, long offset, CancellationToken cancellationToken)
    {
        try
        {
            return await OpenVerifiedAsync(model, offset, cancellationToken).ConfigureAwait(false);
        }
        catch (NotARegularFileException ex)
        {
            // The client learns what, not where: the path stays in the server's own logs and cmdlets.
            throw new ModelCacheException("NotARegularFile", ModelCacheErrorKind.InvalidData,
                $"{model.Name}: the cached file is {NotARegularFileException.Describe(ex.FileKind)}, not a regular file; it is not served.",
                $"On the server, remove what is in the place of the model file and run 'Save-Model {model.Name}'.", ex);
        }
    }

    private async Task<ServedContent> OpenVerifiedAsync(ModelDefinition model, long offset, CancellationToken cancellationToken)
    {
        var verified = await _opener.TryVerifyAsync(Store, model, _fingerprints, cancellationToken).ConfigureAwait(false);
        var path = Store.GetModelPath(model);
        if (verified is null)
        {
            throw File.Exists(path) ? NotVerified(model, path) : NotCached(model);
        }

        FileStream stream;
        try
        {
            // FileShare.Delete: a removal (Clear-ModelCache) goes ahead on Linux while a response streams the old inode.
            stream = RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, ReadBufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NotCached(model);
        }

        if (!(FileIdentity.Read(path) is { } now && now.Equals(verified.Fingerprint)) || stream.Length != verified.Fingerprint.Size)
        {
            stream.Dispose();
            throw new ModelCacheException("CachedFileChanged", ModelCacheErrorKind.ResourceUnavailable,
                $"{model.Name}: its cached file changed while it was being opened; it is not served until it verifies again.", "Retry the request.");
        }

        stream.Position = Math.Min(Math.Max(0, offset), stream.Length);
        await Store.RecordUseAsync(model, verified.Check, cancellationToken).ConfigureAwait(false);
        return new ServedContent(stream, verified.Fingerprint.Size, model.Sha256, new DateTimeOffset(verified.Fingerprint.LastWriteTicks, TimeSpan.Zero), isComplete: true);
    }

    internal static ModelCacheException NotCached(ModelDefinition model) =>
        new("ModelNotCached", ModelCacheErrorKind.NotFound, $"{model.Name} ({model.FileName}) is not cached on this server.",
            $"Run 'Save-Model {model.Name}' on the server.");

    private static ModelCacheException NotVerified(ModelDefinition model, string path) =>
        new("CachedFileNotVerified", ModelCacheErrorKind.InvalidData,
            $"{model.Name}: the cached file does not match the catalog's SHA-256 (or is a link); it is not served.",
            $"On the server, run 'Test-ModelHash {model.Name}' and 'Save-Model {model.Name} -Force' to repair '{path}'.");
}
