using Microsoft.ML.OnnxRuntime;

namespace ModelCache.Inference;

/// <summary>How an ONNX Runtime session is created; fixed for the life of a <see cref="FaceDetector"/>.</summary>
public sealed class FaceDetectorSettings
{
    /// <summary>Threads ONNX Runtime uses inside one Run; 0 lets ONNX Runtime choose.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Engine log level. Error by default: some models (UltraFace) make ORT print hundreds of warnings.</summary>
    public OrtLoggingLevel LogLevel { get; set; } = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;

    /// <summary>
    /// The model is a copy ONNX Runtime already optimized offline (see <see cref="OptimizedModelCache"/>), so a
    /// session of it is never shared with one of the original. Its session still runs ORT_ENABLE_ALL: the copy is
    /// saved at ORT_ENABLE_EXTENDED (portable), and only the online pass adds the layout transforms for this CPU;
    /// the passes already applied find nothing to do. With graph optimizations off (ONNX Runtime's advice for a
    /// copy saved at the level it runs at) sessions open 2–4× faster here but detection ran up to 1.7× slower
    /// (bench/ModelCache.PrecompileBench).
    /// </summary>
    public bool PreOptimized { get; set; }

    /// <summary>Overrides the session's graph optimization level (benchmarks); null for ORT_ENABLE_ALL.</summary>
    public GraphOptimizationLevel? OptimizationLevel { get; set; }

    internal SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions
        {
            LogSeverityLevel = LogLevel,
            GraphOptimizationLevel = OptimizationLevel ?? GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (IntraOpThreads > 0)
        {
            options.IntraOpNumThreads = IntraOpThreads;
        }

        return options;
    }
}
