using System.IO;
using ModelCache.Configuration;
using ModelCache.Inference;
using ModelCache.Integrity;
using ModelCache.Locations;
using ModelCache.Operations;
using ModelCache.Store;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// The process's record of model files (and optimized copies) already hashed (see <see cref="VerifiedModelOpener"/>), shared by
/// every Invoke-FaceDetect call and runspace: the point is to hash a file at most once per process.
/// </summary>
internal static class ModelUse
{
    public static VerifiedModelOpener Opener => ProcessVerification.Opener;

    /// <summary>Optimized copies, whose hashes are likewise checked at most once per process.</summary>
    public static OptimizedModelCache OptimizedCopies { get; } = new(FileVerifier.Process);

    /// <summary>What Invoke-FaceDetect provisions detectors with: the process's pool and records, and the module's native libraries.</summary>
    public static DetectorResources DetectorResources(IEnvironment environment) => new(FaceDetection.Pool, Opener, OptimizedCopies, UserFingerprints(environment))
    {
        EnsureNativeRuntime = NativeLibraryLoader.EnsureLoaded,
        NativeLoadFailure = ex => NativeLibraryLoader.IsNativeLoadFailure(ex) ? NativeLibraryLoader.Missing(ex) : null,
    };

    /// <summary>This user's fingerprints, beside their settings.json (never inside a cache root).</summary>
    public static FingerprintStore UserFingerprints(IEnvironment environment) =>
        new(Path.Combine(Path.GetDirectoryName(SettingsStore.ForUser(environment).SettingsFile)!, "fingerprints.json"));
}
