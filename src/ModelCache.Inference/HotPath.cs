using System.Runtime.CompilerServices;

namespace ModelCache.Inference;

/// <summary>JIT options for the per-pixel and per-anchor loops that every image runs through.</summary>
internal static class HotPath
{
    /// <summary>
    /// MethodImplOptions.AggressiveOptimization (0x200), which netstandard2.0 does not name; .NET honours it and .NET
    /// Framework ignores it. Such a method is compiled fully optimized on its first call instead of climbing the tiers
    /// (tier 0, instrumented, tier 1 after 30 calls). These loops run once per image, so under tiering the first few dozen
    /// images of a process (and every single-image call until then) would run them unoptimized.
    /// </summary>
    internal const MethodImplOptions Optimized = (MethodImplOptions)0x200;
}
