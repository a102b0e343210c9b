using ModelCache.Integrity;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>
/// The process's record of model files already hashed, shared by every use of a model in the process (every
/// Invoke-FaceDetect call and runspace): the point is to hash a file at most once per process.
/// </summary>
public static class ProcessVerification
{
    /// <summary>Opens cached model files for use, hashing each at most once per process (see <see cref="FileVerifier.Process"/>).</summary>
    public static VerifiedModelOpener Opener { get; } = new(FileVerifier.Process);
}
