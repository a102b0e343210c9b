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
    /// The model is a copy ONNX Runtime already optimized offline (see <see cref="OptimizedModelCache"/>): its
    /// session runs no graph optimizations, as ONNX Runtime advises for pre-optimized models, so creating it
    /// skips that work. A session of such a copy is never shared with one of the original.
    /// </summary>
    public bool PreOptimized { get; set; }

    internal SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions
        {
            LogSeverityLevel = LogLevel,
            GraphOptimizationLevel = PreOptimized ? GraphOptimizationLevel.ORT_DISABLE_ALL : GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (IntraOpThreads > 0)
        {
            options.IntraOpNumThreads = IntraOpThreads;
        }

        return options;
    }
}
