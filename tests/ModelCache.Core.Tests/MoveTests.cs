using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.Moves;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.IO;

namespace ModelCache.Core.Tests;

/// <summary>
/// CacheMover: whole roots and selections move, refusals write nothing, and no source copy is deleted unless its
/// destination copy was verified just before. Killing a real process between steps is in <see cref="MoveKillTests"/>.
/// </summary>
public sealed class MoveTests : IDisposable
{
    private static readonly byte[] BytesA = TestModels.RandomBytes(300_000, seed: 21);
    private static readonly byte[] BytesB = TestModels.RandomBytes(200_000, seed: 22);
    private static readonly ModelDefinition ModelA = TestModels.Define(BytesA, new Uri("https://example.invalid/a.onnx"), member: "A", fileName: "a.onnx");
    private static readonly ModelDefinition ModelB = TestModels.Define(BytesB, new Uri("https://example.invalid/b.onnx"), member: "B", fileName: "b.onnx");
    private readonly TempDirectory _temp = new("modelcache-move");
    private readonly ModelCatalog _catalog = new(new[] { ModelA, ModelB });
    private readonly CacheStore _source;
    private readonly SettingsStore _settings;

    public MoveTests()
    {
        _source = new CacheStore(_temp.Combine("old"));
        _settings = new SettingsStore(_temp.Combine("config", "settings.json"));
        Place(_source, ModelA, BytesA);
        Place(_source, ModelB, BytesB);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Moving_the_whole_root_verifies_every_model_at_the_destination_and_removes_the_old_root()
    {
        var destination = new CacheStore(_temp.Combine("new"));
        var steps = new List<string>();

        var outcome = await Move(destination, wholeRoot: true, onStep: (step, name) => steps.Add($"{step} {name}".Trim()));

        Assert.Equal(new[] { ModelMoveStatus.Moved, ModelMoveStatus.Moved }, outcome.Results.Select(r => r.Status));
        Assert.Equal(BytesA.Length + BytesB.Length, outcome.Results.Sum(r => r.Bytes));
        Assert.Equal(BytesA, File.ReadAllBytes(destination.GetModelPath(ModelA)));
        Assert.Equal(BytesB, File.ReadAllBytes(destination.GetModelPath(ModelB)));
        Assert.Equal(new[] { "Copied Test/A", "Copied Test/B", "Switched", "Deleted Test/A", "Deleted Test/B" }, steps);
        Assert.False(Directory.Exists(_source.Root), "the old root's folders (locks included) are removed once empty");
        Assert.Equal(2, (await destination.ListAsync(_catalog)).Count(e => e.PassedAndUnchanged()));
    }

    // An optimized copy (Optimize-ModelCache -Precompile) travels with its model when it matches the SHA-256 its key
    // records; one that does not is left behind with a warning naming the model and the command that rebuilds it.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Optimized_copies_move_verified_by_their_own_hash_or_are_reported(bool intact)
    {
        var optimizedBytes = TestModels.RandomBytes(50_000, seed: 23);
        var optimized = _source.GetOptimizedModelPath(ModelA);
        var key = optimized.Substring(0, optimized.Length - CacheFiles.OptimizedSuffix.Length) + CacheFiles.OptimizedKeySuffix;
        File.WriteAllBytes(optimized, optimizedBytes);
        var keyText = "{ \"formatVersion\": 1, \"sourceSha256\": \"" + ModelA.Sha256 + "\", \"sha256\": \"" + TestModels.Sha256Of(optimizedBytes) + "\", \"size\": " + optimizedBytes.Length + " }";
        File.WriteAllText(key, keyText);
        if (!intact)
        {
            optimizedBytes[10] ^= 1;
            File.WriteAllBytes(optimized, optimizedBytes);
        }

        var destination = new CacheStore(_temp.Combine("new"));
        var warnings = new List<string>();

        var outcome = await Move(destination, wholeRoot: true, warnings: warnings);

        Assert.All(outcome.Results, r => Assert.Equal(ModelMoveStatus.Moved, r.Status));
        var moved = destination.GetOptimizedModelPath(ModelA);
        var movedKey = moved.Substring(0, moved.Length - CacheFiles.OptimizedSuffix.Length) + CacheFiles.OptimizedKeySuffix;
        if (intact)
        {
            Assert.Equal(optimizedBytes, File.ReadAllBytes(moved));
            Assert.Equal(keyText, File.ReadAllText(movedKey));
            Assert.DoesNotContain(warnings, w => w.Contains("optimized", StringComparison.OrdinalIgnoreCase));
        }
        else
        {
            Assert.False(File.Exists(moved));
            Assert.False(File.Exists(movedKey));
            var warning = Assert.Single(warnings, w => w.Contains("optimized copy", StringComparison.Ordinal));
            Assert.Contains(ModelA.Name, warning);
            Assert.Contains("Optimize-ModelCache", warning);
        }

        Assert.Empty(Directory.GetFiles(destination.Root, "*" + CacheFiles.TempSuffix, SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Moving_by_name_moves_only_the_selection_and_keeps_the_old_root()
    {
        var destination = new CacheStore(_temp.Combine("new"));
        var selected = (await _source.ListAsync(_catalog)).Where(e => e.Name == ModelB.Name).ToList();

        var outcome = await Move(destination, wholeRoot: false, selected: selected);

        Assert.Equal(ModelB.Name, Assert.Single(outcome.Results).Name);
        Assert.Equal(ModelMoveStatus.Moved, outcome.Results[0].Status);
        Assert.False(File.Exists(_source.GetModelPath(ModelB)));
        Assert.Equal(BytesA, File.ReadAllBytes(_source.GetModelPath(ModelA)));
        Assert.False(File.Exists(destination.GetModelPath(ModelA)));
        Assert.Equal(BytesB, File.ReadAllBytes(destination.GetModelPath(ModelB)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sub")]
    [InlineData("models/Test")]
    public void A_destination_that_is_the_source_or_inside_it_is_refused_before_anything_is_written(string inside)
    {
        var destination = new CacheStore(Path.Combine(_source.Root, inside));
        var before = Snapshot(_source.Root);

        var error = Assert.Throws<ModelCacheException>(() => new CacheMover(_source, destination, _catalog, new FakeFileSystem()).Plan(Array.Empty<ModelCacheEntry>(), true));

        Assert.Equal("MoveDestinationInsideSource", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidArgument, error.Kind);
        Assert.NotNull(error.RecommendedAction);
        Assert.Equal(before, Snapshot(_source.Root));
    }

    [Fact]
    public void A_destination_reached_through_a_link_into_the_source_is_refused()
    {
        var link = _temp.Combine("looks-elsewhere");
        Directory.CreateSymbolicLink(link, _source.Root);

        var error = Assert.Throws<ModelCacheException>(() => Plan(new CacheStore(Path.Combine(link, "moved"))));

        Assert.Equal("MoveDestinationInsideSource", error.ErrorId);
        Assert.Contains("through a link", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_source.Root, "moved")));
    }

    [Fact]
    public void A_source_inside_the_destination_is_refused_also_through_a_link()
    {
        var error = Assert.Throws<ModelCacheException>(() => Plan(new CacheStore(_temp.Path)));
        Assert.Equal("MoveSourceInsideDestination", error.ErrorId);

        var link = _temp.Combine("parent-link");
        Directory.CreateSymbolicLink(link, _temp.Path);
        var linked = Assert.Throws<ModelCacheException>(() => Plan(new CacheStore(link)));
        Assert.Equal("MoveSourceInsideDestination", linked.ErrorId);
    }

    [Fact]
    public async Task A_destination_without_room_is_refused_naming_bytes_needed_and_free_with_nothing_written()
    {
        var destination = new CacheStore(_temp.Combine("small-disk", "new"));
        var fileSystem = new FakeFileSystem { FreeSpace = 400_000 };
        var entries = await _source.ListAsync(_catalog);

        var error = Assert.Throws<ModelCacheException>(() => new CacheMover(_source, destination, _catalog, fileSystem).Plan(entries, true));

        Assert.Equal("InsufficientDiskSpace", error.ErrorId);
        Assert.Contains((BytesA.Length + BytesB.Length).ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        Assert.Contains("400000", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp.Combine("small-disk")), "nothing is written at the destination");
        Assert.Equal(BytesA, File.ReadAllBytes(_source.GetModelPath(ModelA)));

        // What is already at the destination at full size is not counted again: with A there, B fits.
        Place(destination, ModelA, BytesA);
        var plan = new CacheMover(_source, destination, _catalog, fileSystem).Plan(entries, true);
        Assert.Equal(BytesB.Length, plan.BytesToCopy);
    }

    [Fact]
    public async Task A_destination_holding_another_layout_is_refused()
    {
        var foreign = _temp.Combine("uniface-folder");
        Directory.CreateDirectory(foreign);
        File.WriteAllBytes(Path.Combine(foreign, "someone-elses.onnx"), BytesA);

        var entries = await _source.ListAsync(_catalog);
        var error = Assert.Throws<ModelCacheException>(() => new CacheMover(_source, new CacheStore(foreign), _catalog, new FakeFileSystem()).Plan(entries, true));

        Assert.Equal("CacheRootIsForeignLayout", error.ErrorId);
        Assert.False(Directory.Exists(Path.Combine(foreign, "models")));
    }

    [Fact]
    public async Task A_valid_copy_already_at_the_destination_is_not_copied_again_and_the_source_is_still_deleted()
    {
        var destination = new CacheStore(_temp.Combine("new"));
        Place(destination, ModelA, BytesA);

        var outcome = await Move(destination, wholeRoot: true);

        var a = outcome.Results.Single(r => r.Name == ModelA.Name);
        Assert.Equal(ModelMoveStatus.AlreadyAtDestination, a.Status);
        Assert.Equal(0, a.Bytes);
        Assert.Equal(ModelMoveStatus.Moved, outcome.Results.Single(r => r.Name == ModelB.Name).Status);
        Assert.False(File.Exists(_source.GetModelPath(ModelA)));
        Assert.Equal(BytesA, File.ReadAllBytes(destination.GetModelPath(ModelA)));
    }

    [Fact]
    public async Task A_corrupt_destination_copy_is_replaced_from_the_source()
    {
        var destination = new CacheStore(_temp.Combine("new"));
        Place(destination, ModelA, BytesA);
        File.WriteAllBytes(destination.GetModelPath(ModelA), TestModels.RandomBytes(BytesA.Length, seed: 5));

        var outcome = await Move(destination, wholeRoot: true);

        Assert.Equal(ModelMoveStatus.Moved, outcome.Results.Single(r => r.Name == ModelA.Name).Status);
        Assert.Equal(BytesA, File.ReadAllBytes(destination.GetModelPath(ModelA)));
    }

    [Fact]
    public async Task A_corrupt_source_file_fails_that_model_and_no_source_copy_is_deleted()
    {
        var destination = new CacheStore(_temp.Combine("new"));
        var corrupt = TestModels.RandomBytes(BytesB.Length, seed: 99);
        File.WriteAllBytes(_source.GetModelPath(ModelB), corrupt);
        _settings.WriteCacheRoot(_source.Root);

        var outcome = await Move(destination, wholeRoot: true);

        var b = outcome.Results.Single(r => r.Name == ModelB.Name);
        Assert.Equal(ModelMoveStatus.Failed, b.Status);
        Assert.Equal("HashMismatch", Assert.Single(outcome.Failures).Error.ErrorId);
        Assert.Equal(corrupt, File.ReadAllBytes(_source.GetModelPath(ModelB)));
        Assert.False(File.Exists(destination.GetModelPath(ModelB)), "nothing unverified gets a final name");
        Assert.False(File.Exists(destination.GetPartialPath(ModelB)));

        // The move is incomplete: A is verified at the destination but kept at the source, and the setting stays.
        Assert.Equal(ModelMoveStatus.Copied, outcome.Results.Single(r => r.Name == ModelA.Name).Status);
        Assert.Equal(BytesA, File.ReadAllBytes(_source.GetModelPath(ModelA)));
        Assert.Equal(BytesA, File.ReadAllBytes(destination.GetModelPath(ModelA)));
        Assert.Equal(_source.Root, _settings.ReadCacheRoot());
    }

    [Fact]
    public async Task A_file_no_catalog_knows_is_not_moved_and_keeps_the_whole_move_from_deleting()
    {
        var orphan = Path.Combine(_source.Root, "models", "Other", "X");
        Directory.CreateDirectory(orphan);
        File.WriteAllBytes(Path.Combine(orphan, "x.onnx"), BytesA);
        var destination = new CacheStore(_temp.Combine("new"));

        var outcome = await Move(destination, wholeRoot: true);

        Assert.Equal("ExpectedHashUnknown", Assert.Single(outcome.Failures).Error.ErrorId);
        Assert.True(File.Exists(Path.Combine(orphan, "x.onnx")));
        Assert.True(File.Exists(_source.GetModelPath(ModelA)));
    }

    [Fact]
    public async Task The_location_setting_is_switched_only_when_the_whole_root_moves()
    {
        _settings.WriteCacheRoot(_source.Root);
        var selected = (await _source.ListAsync(_catalog)).Where(e => e.Name == ModelA.Name).ToList();

        await Move(new CacheStore(_temp.Combine("part")), wholeRoot: false, selected: selected);
        Assert.Equal(_source.Root, _settings.ReadCacheRoot());

        var warnings = new List<string>();
        var destination = new CacheStore(_temp.Combine("new"));
        var environment = new FakeEnvironment(_temp.Path).With(EnvironmentVariables.Home, _source.Root);
        var outcome = await Move(destination, wholeRoot: true, environment: environment, warnings: warnings);

        Assert.Equal(destination.Root, _settings.ReadCacheRoot());
        Assert.Equal(new[] { _settings.Description }, outcome.SwitchedSettings);
        Assert.Contains(warnings, w => w.Contains(EnvironmentVariables.Home, StringComparison.Ordinal) && w.Contains(destination.Root, StringComparison.Ordinal));
        Assert.Equal(_source.Root, environment.GetVariable(EnvironmentVariables.Home));
    }

    [Fact]
    public async Task A_setting_naming_another_root_is_left_alone_and_the_user_is_told()
    {
        var elsewhere = _temp.Combine("elsewhere");
        _settings.WriteCacheRoot(elsewhere);
        var warnings = new List<string>();

        var outcome = await Move(new CacheStore(_temp.Combine("new")), wholeRoot: true, environment: new FakeEnvironment(_temp.Path), warnings: warnings);

        Assert.Empty(outcome.SwitchedSettings);
        Assert.Equal(elsewhere, _settings.ReadCacheRoot());
        Assert.Contains(warnings, w => w.Contains("Set-ModelCacheLocation", StringComparison.Ordinal));
    }

    [Fact]
    public void The_journal_leads_a_rerun_from_the_switched_setting_back_to_the_old_root_until_cleared()
    {
        var journal = new MoveJournal(_temp.Combine("config"));
        var destination = _temp.Combine("new");
        Assert.Equal(destination, journal.ResolveSource(destination, destination));

        journal.Record(_source.Root, destination);
        Assert.Equal(_source.Root, journal.ResolveSource(destination, destination));
        Assert.Equal(_temp.Combine("other"), journal.ResolveSource(_temp.Combine("other"), destination));

        journal.Clear(destination);
        Assert.Equal(destination, journal.ResolveSource(destination, destination));
        Assert.False(File.Exists(journal.JournalFile));
    }

    private static void Place(CacheStore store, ModelDefinition model, byte[] bytes)
    {
        var partial = store.PreparePartial(model);
        File.WriteAllBytes(partial, bytes);
        store.Commit(model, partial, model.Sha256, null);
    }

    private CacheMovePlan Plan(CacheStore destination) => new CacheMover(_source, destination, _catalog, new FakeFileSystem()).Plan(Array.Empty<ModelCacheEntry>(), true);

    private async Task<CacheMoveOutcome> Move(CacheStore destination, bool wholeRoot, IReadOnlyList<ModelCacheEntry>? selected = null, Action<MoveStep, string>? onStep = null,
        IEnvironment? environment = null, List<string>? warnings = null)
    {
        var mover = new CacheMover(_source, destination, _catalog, new FakeFileSystem());
        var plan = mover.Plan(selected ?? await _source.ListAsync(_catalog), wholeRoot);
        return await mover.MoveAsync(plan, new CacheMoveOptions
        {
            Settings = new[] { _settings },
            Environment = environment,
            Journal = new MoveJournal(_settings.UserDirectory),
            Warn = warnings is null ? null : warnings.Add,
            OnStep = onStep,
        }, default);
    }

    private static string[] Snapshot(string root) =>
        Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).OrderBy(p => p, StringComparer.Ordinal).ToArray();
}
