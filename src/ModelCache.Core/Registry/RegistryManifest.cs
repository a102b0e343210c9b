using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Sync;
using ModelCache.Transfer;

namespace ModelCache.Registry;

/// <summary>
/// A bundle artifact as a desired-state manifest (Sync-ModelCache -Manifest oci://…): its models are the desired state,
/// and its repository is the first source of their bytes (each layer is the blob of the model's SHA-256, read as a
/// registry mirror reads it), before the -Mirror sources.
/// </summary>
public static class RegistryManifest
{
    /// <summary>Whether <paramref name="manifest"/> names a registry artifact rather than a file.</summary>
    public static bool IsRegistry(string manifest) => OciReference.IsRegistry(manifest);

    /// <summary>Reads and checks the artifact (as Import-ModelCache -Registry does).</summary>
    /// <param name="offline">Offline mode: a registry cannot be read, so it is refused.</param>
    /// <exception cref="ModelCacheException">InvalidArtifactReference, RegistryManifestOffline, or what reading the artifact throws.</exception>
    public static async Task<(SyncManifest Manifest, RegistryBundle Bundle)> ReadAsync(string reference, ModelCatalog catalog, NetworkOptions network, bool offline,
        IEnvironment environment, CancellationToken cancellationToken)
    {
        var artifact = OciArtifactReference.Parse(reference);
        if (offline)
        {
            throw Offline(artifact);
        }

        using var http = SourcePlanner.CreateClient(network, environment);
        var client = new OciRegistryClient(http, artifact.Registry, network.MirrorCredential, environment, network.Timeout, push: false);
        var bundle = await client.PullBundleAsync(artifact, catalog, cancellationToken).ConfigureAwait(false);
        return (SyncManifest.FromBundle(bundle.Location, bundle.Models.Select(m => m.Model), bundle.NewModels), bundle);
    }

    /// <summary>A registry artifact named in offline mode, which opens no network connection.</summary>
    internal static ModelCacheException Offline(OciArtifactReference artifact) => new("RegistryManifestOffline", ModelCacheErrorKind.InvalidOperation,
        $"The bundle '{artifact}' is in a registry, and offline mode (-Offline or $env:MODELCACHE_OFFLINE) opens no network connection.",
        "Leave offline mode to read from a registry, or carry the bundle as a file (Export-ModelCache -Path) and import or sync from that.");

    /// <summary>The layer problems as errors, one per model; the model is still synced from the repository by its catalog digest, or from -Mirror.</summary>
    public static ModelCacheException[] LayerErrors(RegistryBundle bundle) => bundle.LayerProblems
        .Select(p => (ModelCacheException)TransferException.Permanent("RegistryLayerMismatch", ModelCacheErrorKind.InvalidData,
            $"{p.Problem}; {p.Model.Name} is looked up in the repository by its catalog SHA-256 and in the other mirrors instead, and saved only if it verifies.",
            "Push the bundle again with 'Export-ModelCache -Registry'."))
        .ToArray();
}
