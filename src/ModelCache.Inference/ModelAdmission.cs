using System;
using System.Globalization;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using ModelCache.Inference.Layouts;

namespace ModelCache.Inference;

/// <summary>
/// What ONNX Runtime may allocate for a model file, whoever made it. A file is admitted only when its own graph
/// inputs and outputs (read by <see cref="OnnxModelReader"/>, without ONNX Runtime) are those of a known detector
/// layout; only then is a session built, and the session is bounded:
/// <list type="bullet">
/// <item>Every tensor (weights, activations, outputs) comes from one arena shared by all sessions of the process and
/// capped at <see cref="TensorMemoryLimit"/>: a Run that would need more fails (ModelMemoryLimitExceeded) instead of
/// allocating. Constant folding while a session loads does not use that arena, so it is capped as a whole at
/// <see cref="FoldingBudget"/>, divided over the graph's nodes (ONNX Runtime's cap is per folded node).</item>
/// </list>
/// So loading a model and its first Run stay within <see cref="TensorMemoryLimit"/> + <see cref="FoldingBudget"/>
/// plus about twice the file's size (ONNX Runtime's parsed copy of the graph).
/// </summary>
public static class ModelAdmission
{
    /// <summary>The default cap on ONNX Runtime's tensor memory in one process (2 GiB).</summary>
    public const long DefaultTensorMemoryLimit = 2L * 1024 * 1024 * 1024;

    /// <summary>Constant folding at session creation, all nodes together (256 MiB).</summary>
    public const long FoldingBudget = 256L * 1024 * 1024;

    // onnxruntime_session_options_config_keys.h (ONNX Runtime 1.31).
    private const string UseEnvAllocators = "session.use_env_allocators";
    private const string FoldingLimitKey = "optimization.constant_folding_max_output_size_in_bytes";

    private static readonly object Gate = new();
    private static long _limit = DefaultTensorMemoryLimit;
    private static bool _registered;

    /// <summary>
    /// The cap on ONNX Runtime's tensor memory in this process, shared by every loaded model; fixed when the first
    /// session is created (ONNX Runtime keeps one arena per process), so set it before that. At most 4 GiB − 1.
    /// </summary>
    public static long TensorMemoryLimit
    {
        get => Interlocked.Read(ref _limit);
        set
        {
            lock (Gate)
            {
                if (value < 64L * 1024 * 1024 || value > uint.MaxValue)
                {
                    throw new ArgumentOutOfRangeException(nameof(value), value, "The limit must be between 64 MiB and 4 GiB - 1.");
                }

                if (_registered && value != _limit)
                {
                    throw new InvalidOperationException("ONNX Runtime's arena already exists; its limit is fixed for this process.");
                }

                Interlocked.Exchange(ref _limit, value);
            }
        }
    }

    /// <summary>
    /// The detector layout of the file at <paramref name="modelPath"/>, read from its own graph inputs and outputs
    /// without ONNX Runtime; throws UnsupportedModelLayout (or ModelLoadFailed for a file that is not ONNX).
    /// </summary>
    internal static AdmittedModel Check(string modelPath)
    {
        var info = OnnxModelReader.Read(modelPath);
        var layout = FaceModelLayouts.Detect(info.Signature, modelPath);

        // Local functions expand into more nodes than the file lists: no folding for them at all.
        var perNode = info.HasFunctions ? 1 : Math.Max(1, FoldingBudget / Math.Max(1, info.NodeCount));
        return new AdmittedModel(info, layout, perNode);
    }

    /// <summary>True when the file is a face detector of a known layout (Import-Model's task recognition); never loads ONNX Runtime.</summary>
    public static bool IsFaceDetector(string modelPath, out string description)
    {
        try
        {
            description = Check(modelPath).Layout.Describe();
            return true;
        }
        catch (Errors.ModelCacheException ex)
        {
            description = ex.Message;
            return false;
        }
    }

    /// <summary>Puts the session on the capped arena and caps its constant folding.</summary>
    internal static void Bound(SessionOptions options, AdmittedModel model)
    {
        EnsureArena();
        options.AddSessionConfigEntry(UseEnvAllocators, "1");
        options.AddSessionConfigEntry(FoldingLimitKey, model.FoldingLimitPerNode.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>True when ONNX Runtime failed a Run because the arena's cap was reached.</summary>
    internal static bool IsArenaExhausted(OnnxRuntimeException ex) =>
        ex.Message.IndexOf("bfc_arena", StringComparison.OrdinalIgnoreCase) >= 0 || ex.Message.IndexOf("Available memory of", StringComparison.Ordinal) >= 0;

    private static void EnsureArena()
    {
        lock (Gate)
        {
            if (_registered)
            {
                return;
            }

            using var memory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
            // Extend strategy 1 (kSameAsRequested): regions of exactly the size asked for, so the cap is the usable amount;
            // the default doubling would reserve power-of-two regions and refuse a tensor well below the cap.
            using var arena = new OrtArenaCfg((uint)_limit, 1, -1, -1);
            try
            {
                OrtEnv.Instance().CreateAndRegisterAllocator(memory, arena);
            }
            catch (OnnxRuntimeException ex)
            {
                // Without the capped arena no session is built: an unbounded one is what this class exists to prevent.
                throw new Errors.ModelCacheException("OnnxRuntimeSetupFailed", Errors.ModelCacheErrorKind.ResourceUnavailable,
                    $"ONNX Runtime's memory-capped arena cannot be set up in this process: {ex.Message}",
                    "Start a new PowerShell session and import ModelCache before other modules that use ONNX Runtime.", ex);
            }

            _registered = true;
        }
    }
}

/// <summary>A model file <see cref="ModelAdmission.Check"/> recognised, with the folding cap its session gets.</summary>
internal sealed class AdmittedModel
{
    public AdmittedModel(OnnxModelInfo info, FaceModelLayout layout, long foldingLimitPerNode)
    {
        Info = info;
        Layout = layout;
        FoldingLimitPerNode = foldingLimitPerNode;
    }

    public OnnxModelInfo Info { get; }

    public FaceModelLayout Layout { get; }

    public long FoldingLimitPerNode { get; }
}
