using System;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Newtonsoft.Json;

namespace ModelCache.Inference;

/// <summary>
/// What an optimized copy was built for, kept in the JSON beside it: the original's SHA-256, the ONNX Runtime
/// version and optimization level that wrote it, and the process architecture (a copy from another machine's
/// cache is not assumed portable). A copy is used only when every field matches this process, and its own
/// SHA-256 (also recorded) matches the file.
/// </summary>
public sealed class OptimizedModelKey
{
    [JsonProperty("formatVersion")]
    public int FormatVersion { get; set; } = 1;

    [JsonProperty("sourceSha256")]
    public string SourceSha256 { get; set; } = string.Empty;

    [JsonProperty("onnxRuntimeVersion")]
    public string OnnxRuntimeVersion { get; set; } = string.Empty;

    [JsonProperty("optimizationLevel")]
    public string OptimizationLevel { get; set; } = string.Empty;

    [JsonProperty("architecture")]
    public string Architecture { get; set; } = string.Empty;

    /// <summary>The optimized copy's own SHA-256.</summary>
    [JsonProperty("sha256")]
    public string Sha256 { get; set; } = string.Empty;

    [JsonProperty("size")]
    public long Size { get; set; }

    [JsonProperty("createdAt")]
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The key a copy of the model with <paramref name="sourceSha256"/> must carry to be used in this process.</summary>
    public static OptimizedModelKey Current(string sourceSha256, GraphOptimizationLevel level) => new()
    {
        SourceSha256 = sourceSha256.ToLowerInvariant(),
        OnnxRuntimeVersion = OrtEnv.Instance().GetVersionString(),
        OptimizationLevel = level.ToString(),
        Architecture = RuntimeInformation.ProcessArchitecture.ToString(),
    };

    /// <summary>Null when this key is <paramref name="wanted"/>'s; otherwise which field differs.</summary>
    public string? Mismatch(OptimizedModelKey wanted)
    {
        if (FormatVersion != wanted.FormatVersion)
        {
            return $"format version {FormatVersion}, not {wanted.FormatVersion}";
        }

        if (!string.Equals(SourceSha256, wanted.SourceSha256, StringComparison.OrdinalIgnoreCase))
        {
            return $"it was built from a model with SHA-256 {SourceSha256}, not {wanted.SourceSha256}";
        }

        if (!string.Equals(OnnxRuntimeVersion, wanted.OnnxRuntimeVersion, StringComparison.Ordinal))
        {
            return $"it was built by ONNX Runtime {OnnxRuntimeVersion}, not {wanted.OnnxRuntimeVersion}";
        }

        if (!string.Equals(OptimizationLevel, wanted.OptimizationLevel, StringComparison.Ordinal))
        {
            return $"it was built at {OptimizationLevel}, not {wanted.OptimizationLevel}";
        }

        return string.Equals(Architecture, wanted.Architecture, StringComparison.Ordinal) ? null : $"it was built on {Architecture}, not {wanted.Architecture}";
    }
}
