using System;
using System.IO;
using ModelCache.Errors;
using ModelCache.Operations;
using ModelCache.Sync;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

/// <summary>Reading a desired-state manifest (Sync-ModelCache, Test-ModelCache) and a clear's filter: Core's part of those cmdlets.</summary>
public class SyncManifestReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_json_manifest_is_read_here_and_a_psd1_through_the_host()
    {
        var json = Path.Combine(_temp.Path, "m.json");
        File.WriteAllText(json, "{ \"formatVersion\": 1, \"models\": [\"A/B\"] }");
        var psd1 = Path.Combine(_temp.Path, "m.psd1");
        File.WriteAllText(psd1, "not read here");
        string? asked = null;

        SyncManifestReader.Read(json, _ => throw new InvalidOperationException("a .json file is not the host's to read"));
        SyncManifestReader.Read(psd1, path => { asked = path; return "{ \"formatVersion\": 1, \"models\": [\"A/B\"] }"; });

        Assert.Equal(psd1, asked);
    }

    [Fact]
    public void An_oversized_manifest_is_invalid_and_a_missing_one_unreadable()
    {
        var big = Path.Combine(_temp.Path, "big.json");
        File.WriteAllText(big, new string(' ', SyncManifest.MaxBytes + 1));

        Assert.Equal("SyncManifestInvalid", Assert.Throws<ModelCacheException>(() => SyncManifestReader.Read(big, _ => null)).ErrorId);
        Assert.Equal("SyncManifestUnreadable", Assert.Throws<ModelCacheException>(() => SyncManifestReader.Read(Path.Combine(_temp.Path, "none.json"), _ => null)).ErrorId);
    }

    [Fact]
    public void A_clear_filter_is_null_without_criteria_and_takes_NotUsedSince_as_universal_time()
    {
        Assert.Null(ClearOperation.Filter(null, null, null, null, orphansOnly: false));

        var local = new DateTime(2024, 6, 1, 12, 0, 0, DateTimeKind.Local);
        var filter = ClearOperation.Filter(null, local, null, null, orphansOnly: false);

        Assert.Equal(new DateTimeOffset(local.ToUniversalTime(), TimeSpan.Zero), filter!.NotUsedSince);
        Assert.True(ClearOperation.Filter(null, null, null, null, orphansOnly: true)!.OrphansOnly);
    }
}
