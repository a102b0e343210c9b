using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Store;

namespace ModelCache.Server;

/// <summary>
/// <c>index.json</c> as a static mirror export writes it (<see cref="BundleManifest"/>): the catalog models whose cached
/// file verifies and that the server would serve under their file name (the first catalog model of that name).
/// </summary>
internal sealed class MirrorIndex
{
    private readonly ModelCacheServerOptions _options;
    private readonly VerifiedModelOpener _opener;

    public MirrorIndex(ModelCacheServerOptions options, VerifiedModelOpener opener)
    {
        _options = options;
        _opener = opener;
    }

    public async Task<BundleManifest> BuildAsync(CancellationToken cancellationToken)
    {
        var manifest = new BundleManifest { Tool = _options.Tool, CreatedAt = DateTimeOffset.UtcNow };
        var store = _options.Store;
        foreach (var model in _options.Catalog.Models)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!ReferenceEquals(_options.Catalog.FindByExactFileName(model.FileName), model) || !File.Exists(store.GetModelPath(model)))
            {
                continue;
            }

            VerifiedFile? verified;
            try
            {
                verified = await _opener.TryVerifyAsync(store, model, _options.Fingerprints, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelCacheException ex)
            {
                _options.Warning?.Invoke($"{model.Name} is left out of index.json: {ex.Message}");
                continue;
            }

            if (verified is null)
            {
                _options.Warning?.Invoke($"{model.Name} is left out of index.json: its cached file does not verify.");
                continue;
            }

            manifest.Models.Add(BundleModel.From(model, verified.Fingerprint.Size, model.Sha256, includeCatalogEntry: !model.IsBuiltIn));
        }

        return manifest;
    }
}
