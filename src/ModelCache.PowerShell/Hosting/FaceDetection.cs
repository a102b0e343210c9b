using System.Threading;
using ModelCache.Inference;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// The process's detector pool: one ONNX Runtime session per model file, shared by every
/// Invoke-FaceDetect call and pipeline, created on first use and disposed when the last runspace
/// that imported the module removes it.
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

    /// <summary>Sessions open in the process's pool (0 when no pool exists).</summary>
    public static int OpenSessions => Volatile.Read(ref _pool)?.Count ?? 0;

    /// <summary>Disposes the sessions (module removal). A later call starts a new pool.</summary>
    public static void Reset() => Interlocked.Exchange(ref _pool, null)?.Dispose();
}
