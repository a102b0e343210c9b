using System;
using Microsoft.ML.OnnxRuntime;

namespace ModelCache.Inference;

/// <summary>How an ONNX Runtime session is created; fixed for the life of a <see cref="FaceDetector"/>.</summary>
public sealed class FaceDetectorSettings
{
    /// <summary>Threads ONNX Runtime uses inside one Run; 0 lets ONNX Runtime choose.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Whether ONNX Runtime's intra-op threads spin while waiting for work (its default). Off by default: detection
    /// always decodes images on the same cores while sessions run, and a spinning thread takes the core a decoder
    /// needs (issue 22). Spinning matters only with more than one intra-op thread.
    /// </summary>
    public bool AllowSpinning { get; set; }

    /// <summary>
    /// The intra-op threads for <paramref name="parallelImages"/> images run at once on <paramref name="cores"/> cores when
    /// the user did not choose: the cores divided among the images, at least one. With one thread per image the images
    /// are the parallelism, as in a hand-written loop; ONNX Runtime's own default (every core for each Run) put 2×2 Run
    /// threads plus the decoders on 2 cores (issue 22).
    /// </summary>
    public static int DefaultIntraOpThreads(int parallelImages, int cores) => Math.Max(1, cores / Math.Max(1, parallelImages));

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

        if (!AllowSpinning)
        {
            // onnxruntime_session_options_config_keys.h (ONNX Runtime 1.31).
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        return options;
    }
}
