using System;
using System.IO;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.Store;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

/// <summary>
/// Using a model is not acquiring it: bytes hashed are counted, not time. A new opener plays a new process.
/// </summary>
public sealed class VerifiedModelOpenerTests : IDisposable
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(64 * 1024);
    private static readonly ModelDefinition Model = TestModels.Define(Bytes, new Uri("https://example.invalid/tiny.onnx"));
    private readonly TempDirectory _temp = new("modelcache-open");
    private readonly CacheStore _store;
    private readonly FingerprintStore _fingerprints;

    public VerifiedModelOpenerTests()
    {
        _store = new CacheStore(_temp.Combine("root"));
        _store.EnsureWritable();
        // As a save does it: under the model's lock (whose file stays), then commit.
        using (_store.LockAsync(Model.Family, Model.Member, TimeSpan.Zero, null, default).GetAwaiter().GetResult())
        {
            var partial = _store.PreparePartial(Model);
            File.WriteAllBytes(partial, Bytes);
            _store.Commit(Model, partial, Model.Sha256, null);
        }
        _fingerprints = new FingerprintStore(_temp.Combine("user", "fingerprints.json"));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_file_is_hashed_once_per_process()
    {
        var opener = new VerifiedModelOpener();

        var first = await opener.TryOpenAsync(_store, Model, _fingerprints);
        var second = await opener.TryOpenAsync(_store, Model, _fingerprints);

        Assert.Equal((VerifiedBy.Hash, (long)Bytes.Length), (first!.VerifiedBy, first.BytesHashed));
        Assert.Equal((VerifiedBy.ProcessRecord, 0L), (second!.VerifiedBy, second.BytesHashed));
        Assert.Equal(_store.GetModelPath(Model), second.Entry.Path);
        Assert.True(second.Entry.LastUsed >= first.Entry.LastUsed);
    }

    [SkippableFact]
    public async Task A_new_process_skips_the_hash_on_a_root_only_this_user_can_write_and_hashes_when_others_can()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "file ids and ownership are read with statx(2), Linux only; elsewhere every process hashes");
        await new VerifiedModelOpener().TryOpenAsync(_store, Model, _fingerprints);

        var trusted = await new VerifiedModelOpener().TryOpenAsync(_store, Model, _fingerprints);
        Assert.Equal((VerifiedBy.UserFingerprint, 0L), (trusted!.VerifiedBy, trusted.BytesHashed));

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(_store.Root, "models"), File.GetUnixFileMode(Path.Combine(_store.Root, "models")) | UnixFileMode.OtherWrite);
        }

        var shared = await new VerifiedModelOpener().TryOpenAsync(_store, Model, _fingerprints);
        Assert.Equal((VerifiedBy.Hash, (long)Bytes.Length), (shared!.VerifiedBy, shared.BytesHashed));
    }

    [Fact]
    public async Task A_bit_flip_that_keeps_size_and_write_time_is_caught_in_the_same_process_and_the_next()
    {
        var opener = new VerifiedModelOpener();
        Assert.NotNull(await opener.TryOpenAsync(_store, Model, _fingerprints));
        var path = _store.GetModelPath(Model);
        var written = File.GetLastWriteTimeUtc(path);
        using (var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 100;
            var value = file.ReadByte();
            file.Position = 100;
            file.WriteByte((byte)(value ^ 0x01));
        }

        File.SetLastWriteTimeUtc(path, written);

        Assert.Null(await opener.TryOpenAsync(_store, Model, _fingerprints));
        Assert.Null(await new VerifiedModelOpener().TryOpenAsync(_store, Model, _fingerprints));
    }

    [Fact]
    public async Task A_garbage_fingerprint_file_means_hashing()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_fingerprints.File)!);
        File.WriteAllBytes(_fingerprints.File, TestModels.RandomBytes(5000, seed: 4));

        var opened = await new VerifiedModelOpener().TryOpenAsync(_store, Model, _fingerprints);

        Assert.Equal(VerifiedBy.Hash, opened!.VerifiedBy);
    }

    [Fact]
    public async Task Opening_writes_nothing_in_the_root_but_the_entrys_metadata()
    {
        var before = Directory.GetFileSystemEntries(_store.Root, "*", SearchOption.AllDirectories);

        await new VerifiedModelOpener().TryOpenAsync(_store, Model, _fingerprints);

        Assert.Equal(before, Directory.GetFileSystemEntries(_store.Root, "*", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(_store.Root, "fingerprints.json")));
    }

    [Fact]
    public async Task An_absent_model_is_not_opened()
    {
        var other = TestModels.Define(TestModels.RandomBytes(10, seed: 8), new Uri("https://example.invalid/o.onnx"), member: "OTHER", fileName: "o.onnx");

        Assert.Null(await new VerifiedModelOpener().TryOpenAsync(_store, other, _fingerprints));
    }
}
