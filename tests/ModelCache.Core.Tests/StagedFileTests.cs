using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading.Tasks;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

/// <summary>The one staged file every writer uses, and the one verify-with-policy that records what it hashed.</summary>
public sealed class StagedFileTests : IDisposable
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(300_000, seed: 19);
    private static readonly string Sha256 = Convert.ToHexStringLower(SHA256.HashData(Bytes));
    private readonly TempDirectory _temp = new("modelcache-staged");

    public void Dispose() => _temp.Dispose();

    private string Final => _temp.Combine("model.onnx");

    [Fact]
    public async Task A_file_written_in_two_sittings_is_hashed_whole_and_promoted_under_its_final_name()
    {
        var partial = CacheFiles.PartialPathFor(Final);
        using (var first = await StagedFile.OpenAsync(Final, partial))
        {
            await first.Stream.WriteAsync(Bytes.AsMemory(0, 1000));
            first.Hashes[0].AppendData(Bytes, 0, 1000);
        }

        Assert.False(File.Exists(Final));
        File.AppendAllText(partial, "junk past the resume point");

        using var resumed = await StagedFile.OpenAsync(Final, partial, offset: 1000);
        await resumed.Stream.WriteAsync(Bytes.AsMemory(1000));
        foreach (var hash in resumed.Hashes)
        {
            hash.AppendData(Bytes, 1000, Bytes.Length - 1000);
        }

        await resumed.CompleteAsync();
        Assert.True(resumed.Matches(Sha256));
        Assert.Equal(Bytes.Length, resumed.Length);
        resumed.Promote();

        Assert.Equal(Bytes, File.ReadAllBytes(Final));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task An_aborted_file_leaves_nothing_and_a_link_at_the_work_name_is_never_written_through()
    {
        var victim = _temp.Combine("victim.txt");
        File.WriteAllText(victim, "keep me");
        var partial = CacheFiles.PartialPathFor(Final);
        File.CreateSymbolicLink(partial, victim);

        var staged = await StagedFile.OpenAsync(Final, partial);
        await staged.Stream.WriteAsync(Bytes.AsMemory(0, 10));
        staged.Abort();

        Assert.Equal("keep me", File.ReadAllText(victim));
        Assert.False(File.Exists(partial));
        Assert.False(File.Exists(Final));
    }

    [Fact]
    public async Task A_file_another_library_wrote_is_adopted_hashed_or_refused()
    {
        var written = CacheFiles.TempPathFor(Final);
        File.WriteAllBytes(written, Bytes);

        var refused = await StagedFile.AdoptAsync(written, Final, sha => sha == "not it");
        Assert.Equal((Sha256, (long)Bytes.Length, false), refused);
        Assert.False(File.Exists(written));
        Assert.False(File.Exists(Final));

        File.WriteAllBytes(written, Bytes);
        var adopted = await StagedFile.AdoptAsync(written, Final);
        Assert.Equal((Sha256, (long)Bytes.Length, true), adopted);
        Assert.Equal(Bytes, File.ReadAllBytes(Final));
    }

    [Fact]
    public async Task Every_full_hash_is_recorded_and_only_a_use_may_be_vouched_for_by_it()
    {
        File.WriteAllBytes(Final, Bytes);
        var verifier = new FileVerifier();

        var test = await verifier.VerifyAsync("m", Final, Sha256, VerifyPolicy.HashAlways);
        var again = await verifier.VerifyAsync("m", Final, Sha256, VerifyPolicy.HashAlways);
        var use = await verifier.VerifyAsync("m", Final, Sha256, VerifyPolicy.FingerprintMayVouch);

        Assert.Equal((VerifiedBy.Hash, (long)Bytes.Length, HashStatus.Valid), (test.By, test.BytesHashed, test.Result.Status));
        Assert.Equal((VerifiedBy.Hash, (long)Bytes.Length), (again.By, again.BytesHashed));
        Assert.Equal((VerifiedBy.ProcessRecord, 0L, HashStatus.Valid), (use.By, use.BytesHashed, use.Result.Status));

        // Another expected hash is not vouched for, and a changed file is hashed again.
        Assert.Equal(HashStatus.Mismatch, (await verifier.VerifyAsync("m", Final, new string('0', 64), VerifyPolicy.FingerprintMayVouch)).Result.Status);
        File.WriteAllBytes(Final, TestModels.RandomBytes(Bytes.Length, seed: 20));
        var changed = await verifier.VerifyAsync("m", Final, Sha256, VerifyPolicy.FingerprintMayVouch);
        Assert.Equal((VerifiedBy.Hash, HashStatus.Mismatch), (changed.By, changed.Result.Status));
    }

    [Fact]
    public async Task A_file_recorded_as_written_needs_no_hash_to_be_used()
    {
        File.WriteAllBytes(Final, Bytes);
        var verifier = new FileVerifier();
        verifier.Record(Final, Sha256);

        var use = await verifier.VerifyAsync("m", Final, Sha256, VerifyPolicy.FingerprintMayVouch);

        Assert.Equal((VerifiedBy.ProcessRecord, 0L), (use.By, use.BytesHashed));
    }
}
