using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Testing;
using ModelCache.Inference.Layouts;

namespace ModelCache.Inference.Tests;

/// <summary>
/// Untrusted model files: a model is recognised from its own graph before ONNX Runtime builds a session, and
/// loading and running stay within the bound ModelAdmission states. Memory is measured in a child process.
/// </summary>
public sealed class ModelAdmissionTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private const int F = OnnxModelWriter.Float;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A few hundred bytes that ONNX Runtime's constant folding turns into a float tensor of <paramref name="shape"/>.</summary>
    internal static OnnxModelWriter ConstantOfShapeBomb(params long[] shape) => new OnnxModelWriter()
        .Int64Initializer("shape", shape)
        .Node("ConstantOfShape", new[] { "shape" }, new[] { "big" })
        .Node("ReduceSum", new[] { "big" }, new[] { "out" }, OnnxModelWriter.IntAttribute("keepdims", 0))
        .Output("out", F);

    /// <summary>
    /// A model with RetinaFace's inputs and outputs (input [1,3,32,32]; loc, conf and landmarks over its 42 priors)
    /// whose Run doubles the 3072 input values <paramref name="doublings"/> times by concatenation: 3072 × 4 × 2^k
    /// bytes for the last tensor, the one before it still alive. Its file is under 2 KB and its loading allocates nothing.
    /// </summary>
    internal static OnnxModelWriter DetectorShapedRunBomb(int doublings)
    {
        var w = new OnnxModelWriter()
            .Input("input", F, 1, 3, 32, 32)
            .Int64Initializer("flat", 1, 3072)
            .Node("Reshape", new[] { "input", "flat" }, new[] { "x0" });
        for (var i = 0; i < doublings; i++)
        {
            w.Node("Concat", new[] { "x" + i, "x" + i }, new[] { "x" + (i + 1) }, OnnxModelWriter.IntAttribute("axis", 1));
        }

        return w.Node("ReduceSum", new[] { "x" + doublings }, new[] { "s" }, OnnxModelWriter.IntAttribute("keepdims", 0))
            .Int64Initializer("s4", 1, 42, 4).Int64Initializer("s2", 1, 42, 2).Int64Initializer("s10", 1, 42, 10)
            .Node("Expand", new[] { "s", "s4" }, new[] { "loc" })
            .Node("Expand", new[] { "s", "s2" }, new[] { "conf" })
            .Node("Expand", new[] { "s", "s10" }, new[] { "landmarks" })
            .Output("loc", F, 1, 42, 4).Output("conf", F, 1, 42, 2).Output("landmarks", F, 1, 42, 10);
    }

    [Fact]
    public void Every_fixture_model_is_recognised_from_its_file_exactly_as_onnx_runtime_reports_its_inputs_and_outputs()
    {
        foreach (var file in DetectorFixture.AllModels)
        {
            var path = DetectorFixture.Model(file);
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
            using var session = new InferenceSession(path, options);
            var fromSession = ModelSignature.FromSession(session);
            var fromFile = OnnxModelReader.Read(path).Signature;
            Assert.Equal(Describe(fromSession), Describe(fromFile));
            Assert.True(ModelAdmission.IsFaceDetector(path, out var layout), file + ": " + layout);
        }
    }

    [Theory]
    [InlineData(1000, 1000, 250)] // the report's 166 bytes: 1e9 bytes, just under ONNX Runtime's own 1 GiB folding cap
    [InlineData(1000, 1000, 268)] // just over that cap: folded by nothing, computed by Run
    [InlineData(64, 64, 64)]
    public void A_model_that_is_not_a_detector_is_refused_before_onnx_runtime_allocates_anything(long a, long b, long c)
    {
        var model = ConstantOfShapeBomb(a, b, c).Save(_dir.Combine("bomb.onnx"));
        Assert.True(new FileInfo(model).Length < 400);

        var (line, peak) = PixelLimitTests.Probe(model, DetectorFixture.Image("gorilla.png"));
        Assert.Equal("error UnsupportedModelLayout", line);
        Assert.True(peak < 200 * MiB, $"peak {peak / MiB} MiB");
    }

    [Fact]
    public void A_detector_shaped_model_whose_run_needs_gigabytes_is_stopped_at_the_tensor_memory_limit()
    {
        // 18 doublings: the last tensor alone is 3 GiB; the default limit is 2 GiB.
        var model = DetectorShapedRunBomb(18).Save(_dir.Combine("runbomb.onnx"));
        Assert.True(new FileInfo(model).Length < 2048);

        var (line, peak) = PixelLimitTests.Probe(model, DetectorFixture.Image("gorilla.png"));
        Assert.Equal("error ModelMemoryLimitExceeded", line);
        Assert.True(peak < ModelAdmission.DefaultTensorMemoryLimit + (256 * MiB), $"peak {peak / MiB} MiB");
    }

    [Theory]
    [InlineData(13, "ok ")] // 3072 × 4 × 2^13 = 96 MiB last tensor, 144 MiB with the one before it: under 256 MiB
    [InlineData(14, "error ModelMemoryLimitExceeded")] // 192 + 96 MiB: just over
    public void The_tensor_memory_limit_decides_whether_a_run_completes(int doublings, string expected)
    {
        var model = DetectorShapedRunBomb(doublings).Save(_dir.Combine("run.onnx"));
        var (line, peak) = PixelLimitTests.Probe(model, DetectorFixture.Image("gorilla.png"), "256");
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.True(peak < 256 * MiB + (256 * MiB), $"peak {peak / MiB} MiB");
    }

    [Fact]
    public void A_fixture_detector_runs_within_the_limit_and_finds_its_faces()
    {
        var (line, peak) = PixelLimitTests.Probe(DetectorFixture.Model(DetectorFixture.RetinaFace), DetectorFixture.Image("gorilla.png"), "256");
        Assert.StartsWith("ok ", line, StringComparison.Ordinal);
        Assert.True(peak < 512 * MiB, $"peak {peak / MiB} MiB");
    }

    [Theory]
    [InlineData(-4096, true)] // just under the per-node share of the folding budget: folded while the session loads
    [InlineData(4096, false)] // just over: left to Run, where the capped arena holds it
    public async Task Constant_folding_while_a_detector_loads_is_capped_by_the_folding_budget_shared_over_its_nodes(int offset, bool folded)
    {
        // Seven nodes, so each may fold FoldingBudget / 7. The folded tensor stays an initializer of the optimized
        // copy (it is added to a value computed from the input), so the copy's size shows whether it was folded.
        var perNode = ModelAdmission.FoldingBudget / 7;
        var file = new OnnxModelWriter()
            .Input("input", F, 1, 3, 32, 32)
            .Int64Initializer("shape", (perNode + offset) / 4)
            .Node("ReduceSum", new[] { "input" }, new[] { "r" }, OnnxModelWriter.IntAttribute("keepdims", 0))
            .Node("ConstantOfShape", new[] { "shape" }, new[] { "big" })
            .Node("Add", new[] { "r", "big" }, new[] { "y" })
            .Node("ReduceSum", new[] { "y" }, new[] { "s" }, OnnxModelWriter.IntAttribute("keepdims", 0))
            .Int64Initializer("s4", 1, 42, 4).Int64Initializer("s2", 1, 42, 2).Int64Initializer("s10", 1, 42, 10)
            .Node("Expand", new[] { "s", "s4" }, new[] { "loc" })
            .Node("Expand", new[] { "s", "s2" }, new[] { "conf" })
            .Node("Expand", new[] { "s", "s10" }, new[] { "landmarks" })
            .Output("loc", F, 1, 42, 4).Output("conf", F, 1, 42, 2).Output("landmarks", F, 1, 42, 10)
            .Save(_dir.Combine("folding.onnx"));
        var store = new ModelCache.Store.CacheStore(_dir.Combine("root"));
        store.EnsureWritable();
        var sha256 = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file))).ToLowerInvariant();
        var model = new ModelCache.Catalog.ModelDefinition("Test", "FOLDING", "face_detection", "folding.onnx", new Uri("https://example.invalid/folding.onnx"), sha256, new FileInfo(file).Length);
        var partial = store.PreparePartial(model);
        File.Copy(file, partial);
        store.Commit(model, partial, sha256, null);

        Assert.NotNull(await new OptimizedModelCache().PrecompileAsync(store, model));

        var copy = new FileInfo(store.GetOptimizedModelPath(model)).Length;
        Assert.True(folded ? copy > perNode - 4096 : copy < MiB, $"optimized copy of {copy} bytes; per-node folding cap {perNode}");
    }

    [Theory]
    [InlineData(-2048, false)] // names and shapes just under the reader's cap: read, then not a known layout
    [InlineData(2048, true)] // just over: refused by the reader itself
    public void The_reader_keeps_at_most_its_cap_of_names_and_shapes(int offset, bool overCap)
    {
        // The reader counts 64 bytes per input or output, its name, and 8 per dimension: 101 for the input, 97 + L per output.
        var name = new string('n', (OnnxModelReader.MaxSignatureBytes + offset - 295) / 2);
        var model = new OnnxModelWriter().Input("input", F, 1, 3, 32, 32)
            .Node("Identity", new[] { "input" }, new[] { name + "a" })
            .Node("Identity", new[] { "input" }, new[] { name + "b" })
            .Output(name + "a", F, 1, 3, 32, 32).Output(name + "b", F, 1, 3, 32, 32)
            .Save(_dir.Combine("names.onnx"));

        var ex = Assert.Throws<ModelCacheException>(() => ModelAdmission.Check(model));
        Assert.Equal("UnsupportedModelLayout", ex.ErrorId);
        Assert.Equal(overCap, ex.Message.Contains("KiB of input and output names", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new byte[] { 0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })] // graph field claiming 4 GiB in a 6-byte file
    [InlineData(new byte[] { 0x0B })] // a group wire type, which ONNX never uses
    [InlineData(new byte[] { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 })] // an 11-byte number
    public void A_file_that_is_not_onnx_is_a_load_failure_without_onnx_runtime(byte[] bytes)
    {
        var path = _dir.Combine("bad.onnx");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<ModelCacheException>(() => OnnxModelReader.Read(path));
        Assert.Equal("ModelLoadFailed", ex.ErrorId);
    }

    private static string Describe(ModelSignature s) =>
        string.Join(";", s.Inputs.Concat(s.Outputs).Select(t => t.ToString()));
}
