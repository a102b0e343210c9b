using System.Threading;
using ModelCache.Inference;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// The process's detector pool: one ONNX Runtime session per model file, shared by every
/// Invoke-FaceDetect call and pipeline, created on first use and disposed when the module is removed.
/// </summary>
internal static class FaceDetection
{
    private static FaceDetectorPool? _pool;

    public static FaceDetectorPool Pool
    {
        get
        {
            var pool = Volatile.Read(ref _pool);
            if (pool is not null)
            {
                return pool;
            }

            var created = new FaceDetectorPool();
            var existing = Interlocked.CompareExchange(ref _pool, created, null);
            if (existing is not null)
            {
                created.Dispose();
                return existing;
            }

            return created;
        }
    }

    /// <summary>Disposes the sessions (module removal). A later call starts a new pool.</summary>
    public static void Reset() => Interlocked.Exchange(ref _pool, null)?.Dispose();
}
