using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.Store;
using ModelCache.Layouts;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

/// <summary>
/// Optimize-ModelCache's engine on a real temp cache: each test plants the damage (a stale or live partial, a
/// corrupt file, lost metadata, duplicate content, an orphan, a link out of the root) and checks what the plan
/// says and what executing it leaves on disk.
/// </summary>
public sealed class OptimizeTests : IDisposable
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(8192, seed: 7);
    private static readonly ModelDefinition A = TestModels.Define(Bytes, new Uri("https://example.invalid/a.onnx"), "A", "a.onnx");
    private static readonly ModelDefinition Twin = TestModels.Define(Bytes, new Uri("https://example.invalid/twin.onnx"), "TWIN", "twin.onnx");
    private static readonly byte[] OtherBytes = TestModels.RandomBytes(4096, seed: 8);
    private static readonly ModelDefinition B = TestModels.Define(OtherBytes, new Uri("https://example.invalid/b.onnx"), "B", "b.onnx");
    private readonly TempDirectory _temp = new("modelcache-optimize");
    private readonly CacheStore _store;
    private readonly FakeFileSystem _fileSystem = new() { HardLinks = true };

    public OptimizeTests()
    {
        _store = new CacheStore(_temp.Combine("root"));
        _store.EnsureWritable();
    }

    public void Dispose() => _temp.Dispose();

    private ModelCatalog Catalog => new(new[] { A, Twin, B });

    private CacheOptimizer Optimizer => new(_store, Catalog, _fileSystem);

    [Fact]
    public async Task A_stale_partial_is_removed_but_one_whose_download_holds_the_lock_is_kept()
    {
        File.WriteAllBytes(_store.PreparePartial(A), new byte[1000]);
        var live = _store.PreparePartial(B);
        File.WriteAllBytes(live, new byte[500]);

        using (await _store.LockAsync(B.Family, B.Member, TimeSpan.Zero, null, default))
        {
            var plan = await Optimizer.PlanAsync(new CacheOptimizeOptions());
            Assert.Equal(new[] { A.Name }, plan.Steps.Select(s => s.Name));
            Assert.Contains(plan.Notes, n => n.Contains(B.Name, StringComparison.Ordinal) && n.Contains("downloading", StringComparison.Ordinal));
            var actions = await RunAsync(new CacheOptimizeOptions());

            var removed = Assert.Single(actions);
            Assert.Equal(CacheOptimizeActionKind.RemovedPartial, removed.Action);
            Assert.Equal(A.Name, removed.Name);
            Assert.Equal(1000, removed.BytesFreed);
            Assert.False(File.Exists(_store.GetPartialPath(A)));
            Assert.True(File.Exists(live));
        }
    }

    [Fact]
    public async Task A_partial_planned_as_stale_is_kept_when_its_download_starts_before_the_step_runs()
    {
        File.WriteAllBytes(_store.PreparePartial(A), new byte[1000]);
        var step = Assert.Single((await Optimizer.PlanAsync(new CacheOptimizeOptions())).Steps);

        using (await _store.LockAsync(A.Family, A.Member, TimeSpan.Zero, null, default))
        {
            Assert.Null(await Optimizer.ExecuteAsync(step));
        }

        Assert.True(File.Exists(_store.GetPartialPath(A)));
    }

    [Fact]
    public async Task A_corrupt_file_is_removed_with_its_metadata_and_a_valid_one_is_left_alone()
    {
        var corrupt = Save(A);
        Save(B);
        FlipByte(corrupt.Path);

        var action = Assert.Single(await RunAsync(new CacheOptimizeOptions()));

        Assert.Equal(CacheOptimizeActionKind.RemovedCorrupt, action.Action);
        Assert.Equal(Bytes.Length, action.BytesFreed);
        Assert.False(File.Exists(corrupt.Path));
        Assert.False(File.Exists(Path.Combine(_store.GetModelDirectory(A), CacheStore.MetadataFileName)));
        Assert.Equal(new[] { B.Name }, (await _store.ListAsync(Catalog)).Select(e => e.Name));
    }

    [Fact]
    public async Task With_quarantine_a_corrupt_file_is_moved_into_the_state_area_and_frees_nothing()
    {
        var corrupt = Save(A);
        FlipByte(corrupt.Path);
        var damaged = File.ReadAllBytes(corrupt.Path);

        var action = Assert.Single(await RunAsync(new CacheOptimizeOptions { Quarantine = true }));

        Assert.Equal(CacheOptimizeActionKind.Quarantined, action.Action);
        Assert.Equal(0, action.BytesFreed);
        Assert.False(File.Exists(corrupt.Path));
        var kept = Assert.Single(Directory.GetFiles(_store.Layout.QuarantineDirectory, "*", SearchOption.AllDirectories));
        Assert.StartsWith(Path.Combine(_store.Root, "quarantine", "Test", "A") + Path.DirectorySeparatorChar, kept, StringComparison.Ordinal);
        Assert.Contains(kept, action.Detail, StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllBytes(kept));
        Assert.Empty(await _store.ListAsync(Catalog));
    }

    [Fact]
    public async Task A_file_replaced_by_a_good_one_after_the_plan_is_not_removed()
    {
        var corrupt = Save(A);
        FlipByte(corrupt.Path);
        var step = Assert.Single((await Optimizer.PlanAsync(new CacheOptimizeOptions())).Steps);
        Save(A);

        Assert.Null(await Optimizer.ExecuteAsync(step));
        Assert.Equal(Bytes, File.ReadAllBytes(corrupt.Path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Lost_or_untrusted_metadata_is_rebuilt_from_the_file(bool tampered)
    {
        var entry = Save(A);
        var metadata = Path.Combine(_store.GetModelDirectory(A), CacheStore.MetadataFileName);
        if (tampered)
        {
            File.WriteAllText(metadata, """{ "fileName": "../../../etc/passwd", "sha256": "00" }""");
        }
        else
        {
            File.Delete(metadata);
        }

        var action = Assert.Single(await RunAsync(new CacheOptimizeOptions()));

        Assert.Equal(CacheOptimizeActionKind.RebuiltMetadata, action.Action);
        Assert.Contains(tampered ? "not trusted" : "lost", action.Detail, StringComparison.Ordinal);
        var json = Newtonsoft.Json.Linq.JObject.Parse(File.ReadAllText(metadata));
        Assert.Equal(A.Sha256, (string?)json["sha256"]);
        Assert.Equal(A.FileName, (string?)json["fileName"]);
        Assert.True((bool?)json["verified"]);
        Assert.True(File.Exists(entry.Path));
        Assert.Empty((await Optimizer.PlanAsync(new CacheOptimizeOptions())).Steps);
    }

    [SkippableFact]
    public async Task Duplicate_content_in_two_entries_becomes_one_file_with_two_names_and_the_bytes_are_counted()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "file ids (inodes) are read with statx on Linux only");
        var first = Save(A);
        var second = Save(Twin);
        Assert.NotEqual(FileIdentity.Read(first.Path)!.Value.FileId, FileIdentity.Read(second.Path)!.Value.FileId);

        var action = Assert.Single(await RunAsync(new CacheOptimizeOptions()));

        Assert.Equal(CacheOptimizeActionKind.Deduplicated, action.Action);
        Assert.Equal(Twin.Name, action.Name);
        Assert.Equal(Bytes.Length, action.BytesFreed);
        Assert.Equal(FileIdentity.Read(first.Path)!.Value.FileId, FileIdentity.Read(second.Path)!.Value.FileId);
        Assert.Equal(Bytes, File.ReadAllBytes(second.Path));
        Assert.Empty(Directory.GetFiles(_store.GetModelDirectory(Twin), "*.tmp"));

        // Both entries' checks still hold, and a second run has nothing left to link.
        Assert.All(await _store.ListAsync(Catalog), e => Assert.True(e.PassedAndUnchanged(), e.Name));
        Assert.Empty((await Optimizer.PlanAsync(new CacheOptimizeOptions())).Steps);
    }

    [Fact]
    public async Task Where_the_file_system_refuses_a_hard_link_both_copies_are_kept_and_a_warning_says_so()
    {
        _fileSystem.HardLinks = false;
        var first = Save(A);
        var second = Save(Twin);
        var warnings = new List<string>();

        Assert.Empty(await RunAsync(new CacheOptimizeOptions(), warnings));

        var warning = Assert.Single(warnings);
        Assert.Contains("both copies are kept", warning, StringComparison.Ordinal);
        Assert.Equal(Bytes, File.ReadAllBytes(first.Path));
        Assert.Equal(Bytes, File.ReadAllBytes(second.Path));
        Assert.Empty(Directory.GetFiles(_store.GetModelDirectory(Twin), "*.tmp"));
    }

    [Fact]
    public async Task Orphans_are_kept_without_RemoveOrphans_and_removed_with_it()
    {
        Save(A);
        var orphanDirectory = Path.Combine(_store.Root, "models", "Stranger", "ONE");
        Directory.CreateDirectory(orphanDirectory);
        var orphan = Path.Combine(orphanDirectory, "own.onnx");
        File.WriteAllBytes(orphan, OtherBytes.Reverse().ToArray());
        File.WriteAllText(Path.Combine(orphanDirectory, CacheStore.MetadataFileName), $$"""{ "fileName": "own.onnx", "sha256": "{{TestModels.Sha256Of(OtherBytes.Reverse().ToArray())}}", "size": {{OtherBytes.Length}} }""");

        var plan = await Optimizer.PlanAsync(new CacheOptimizeOptions());
        Assert.Empty(plan.Steps);
        Assert.Contains(plan.Notes, n => n.Contains("Stranger/ONE", StringComparison.Ordinal) && n.Contains("-RemoveOrphans", StringComparison.Ordinal));
        Assert.True(File.Exists(orphan));

        var removed = Assert.Single(await RunAsync(new CacheOptimizeOptions { RemoveOrphans = true }));
        Assert.Equal(CacheOptimizeActionKind.RemovedOrphan, removed.Action);
        Assert.Equal("Stranger/ONE", removed.Name);
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(_store.GetModelPath(A)));
    }

    [Fact]
    public async Task A_link_planted_in_the_cache_is_never_followed_hashed_or_deleted_through()
    {
        var outside = _temp.Combine("outside");
        Directory.CreateDirectory(outside);
        var precious = Path.Combine(outside, "a.onnx");
        File.WriteAllText(precious, "not a model, and not yours");
        File.WriteAllText(Path.Combine(outside, "b.onnx.partial"), "someone else's partial");
        File.WriteAllText(Path.Combine(outside, "orphan.onnx"), "someone else's file");

        // A model file that is a link to a file outside (its content would be "corrupt"), a member folder that is a
        // link to a folder outside holding a partial, and an orphan family folder that is a link.
        Directory.CreateDirectory(_store.GetModelDirectory(A));
        File.CreateSymbolicLink(_store.GetModelPath(A), precious);
        Directory.CreateDirectory(Path.GetDirectoryName(_store.GetModelDirectory(B))!);
        Directory.CreateSymbolicLink(_store.GetModelDirectory(B), outside);
        Directory.CreateSymbolicLink(Path.Combine(_store.Root, "models", "Stranger"), outside);

        var plan = await Optimizer.PlanAsync(new CacheOptimizeOptions { RemoveOrphans = true, Quarantine = true });
        foreach (var step in plan.Steps)
        {
            await Optimizer.ExecuteAsync(step);
        }

        Assert.DoesNotContain(plan.Steps, s => s.Kind is CacheOptimizeActionKind.RemovedCorrupt or CacheOptimizeActionKind.Quarantined or CacheOptimizeActionKind.RemovedOrphan);
        Assert.Contains(plan.Problems, p => p.ErrorId == "CacheFolderIsLink");
        Assert.Equal("not a model, and not yours", File.ReadAllText(precious));
        Assert.True(File.Exists(Path.Combine(outside, "b.onnx.partial")));
        Assert.True(File.Exists(Path.Combine(outside, "orphan.onnx")));
        Assert.False(Directory.Exists(_store.Layout.QuarantineDirectory));
    }

    [Fact]
    public async Task Planning_changes_nothing_on_disk()
    {
        var corrupt = Save(A);
        FlipByte(corrupt.Path);
        Save(Twin);
        Save(B);
        File.Delete(Path.Combine(_store.GetModelDirectory(B), CacheStore.MetadataFileName));
        File.WriteAllBytes(_store.GetModelPath(B) + CacheStore.PartialSuffix, new byte[10]);
        var orphanDirectory = Path.Combine(_store.Root, "models", "Stranger", "ONE");
        Directory.CreateDirectory(orphanDirectory);
        File.WriteAllBytes(Path.Combine(orphanDirectory, "own.onnx"), Bytes);
        var before = Snapshot();

        var plan = await Optimizer.PlanAsync(new CacheOptimizeOptions { RemoveOrphans = true, Quarantine = true });

        Assert.Equal(
            new[] { CacheOptimizeActionKind.Quarantined, CacheOptimizeActionKind.RebuiltMetadata, CacheOptimizeActionKind.RemovedOrphan, CacheOptimizeActionKind.RemovedPartial },
            plan.Steps.Select(s => s.Kind).OrderBy(k => k.ToString(), StringComparer.Ordinal));
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task Only_selected_entries_are_touched()
    {
        FlipByte(Save(A).Path);
        FlipByte(Save(B).Path);

        var action = Assert.Single(await RunAsync(new CacheOptimizeOptions { Select = (family, member) => member == "B" }));

        Assert.Equal(B.Name, action.Name);
        Assert.True(File.Exists(_store.GetModelPath(A)));
    }

    [Fact]
    public async Task In_a_uniface_folder_quarantine_goes_to_the_state_folder_and_a_stale_partial_is_removed()
    {
        var root = _temp.Combine("uniface");
        var state = _temp.Combine("state");
        var store = new CacheStore(new UnifaceLayout(root, state));
        store.EnsureWritable();
        var partial = store.PreparePartial(B);
        File.WriteAllBytes(partial, OtherBytes);
        store.Commit(B, partial, B.Sha256, null);
        FlipByte(store.GetModelPath(B));
        File.WriteAllBytes(store.PreparePartial(A), new byte[100]);
        var optimizer = new CacheOptimizer(store, Catalog, _fileSystem);

        var plan = await optimizer.PlanAsync(new CacheOptimizeOptions { Quarantine = true });
        var actions = new List<CacheOptimizeAction>();
        foreach (var step in plan.Steps)
        {
            actions.Add((await optimizer.ExecuteAsync(step))!);
        }

        Assert.Equal(new[] { CacheOptimizeActionKind.RemovedPartial, CacheOptimizeActionKind.Quarantined }, actions.Select(a => a.Action));
        Assert.Empty(Directory.GetFiles(root));
        Assert.Single(Directory.GetFiles(Path.Combine(state, "quarantine"), "*", SearchOption.AllDirectories));
    }

    private async Task<List<CacheOptimizeAction>> RunAsync(CacheOptimizeOptions options, List<string>? warnings = null)
    {
        var optimizer = Optimizer;
        var plan = await optimizer.PlanAsync(options);
        var actions = new List<CacheOptimizeAction>();
        foreach (var step in plan.Steps)
        {
            if (await optimizer.ExecuteAsync(step, message => warnings?.Add(message)) is { } action)
            {
                actions.Add(action);
            }
        }

        return actions;
    }

    private ModelCacheEntry Save(ModelDefinition model)
    {
        var partial = _store.PreparePartial(model);
        File.WriteAllBytes(partial, model == B ? OtherBytes : Bytes);
        return _store.Commit(model, partial, model.Sha256, model.Url!.ToString());
    }

    private static void FlipByte(string path)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Every file and folder under the root with its size, write time and file id.</summary>
    private List<string> Snapshot() =>
        Directory.GetFileSystemEntries(_store.Root, "*", SearchOption.AllDirectories)
            .OrderBy(p => p, StringComparer.Ordinal)
            .Select(p => File.Exists(p) ? $"{p}|{FileIdentity.Read(p)}" : p)
            .ToList();
}
