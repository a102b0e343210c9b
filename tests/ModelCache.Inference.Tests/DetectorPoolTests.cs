using System;
using System.IO;
using System.Threading;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Testing;

namespace ModelCache.Inference.Tests;

/// <summary>The pool keys sessions by model identity, leases keep them alive, and only idle ones are evicted.</summary>
public class DetectorPoolTests
{
    private static readonly string Model = DetectorFixture.Model(DetectorFixture.UltraSlim);
    private static readonly string Image = DetectorFixture.Image("linzaer_13.jpg");

    private long _now = TimeSpan.TicksPerDay;

    private FaceDetectorPool NewPool(TimeSpan idle) => new(idle, () => Interlocked.Read(ref _now), startTimer: false);

    private void Advance(TimeSpan by) => Interlocked.Add(ref _now, by.Ticks);

    [Fact]
    public void A_use_is_recorded_again_once_the_interval_has_passed_and_per_model_content()
    {
        using var pool = NewPool(TimeSpan.FromMinutes(10));
        var path = Path.Combine(Path.GetTempPath(), "model.onnx");
        Assert.False(pool.UseRecordedRecently(path, "AB"));

        pool.NoteUseRecorded(path, "ab");
        Assert.True(pool.UseRecordedRecently(path, "AB"));
        Assert.False(pool.UseRecordedRecently(path, "CD"));
        Assert.False(pool.UseRecordedRecently(path + ".other", "AB"));

        Advance(FaceDetectorPool.UseRecordInterval);
        Assert.False(pool.UseRecordedRecently(path, "AB"));
    }

    [Fact]
    public void Same_identity_shares_a_session_and_a_new_identity_gets_a_new_one()
    {
        using var pool = NewPool(TimeSpan.FromMinutes(1));
        using var a = pool.Rent(Model, "sha-1", null, out var createdA);
        using var b = pool.Rent(Model, "SHA-1", null, out var createdB);
        using var c = pool.Rent(Model, "sha-2", null, out var createdC);

        Assert.True(createdA);
        Assert.False(createdB);
        Assert.Same(a.Detector, b.Detector);
        Assert.True(createdC);
        Assert.NotSame(a.Detector, c.Detector);
        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public void A_leased_session_is_never_evicted_and_an_idle_one_is_after_the_timeout()
    {
        using var pool = NewPool(TimeSpan.FromMinutes(1));
        var held = pool.Rent(Model, "held");
        var idle = pool.Rent(Model, "idle");
        idle.Dispose();
        idle.Dispose(); // twice is harmless

        Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, pool.EvictIdle());
        Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, pool.EvictIdle());
        Assert.Equal(1, pool.Count);

        // The leased one still works long after the timeout; the evicted one is gone.
        Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, pool.EvictIdle());
        Assert.NotNull(held.Detector.Detect(Image));
        Assert.Equal(1, pool.SessionsDisposed);

        held.Dispose();
        Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, pool.EvictIdle());
        Assert.Equal(0, pool.Count);

        // Renting again after eviction loads a fresh session.
        using var again = pool.Rent(Model, "idle", null, out var created);
        Assert.True(created);
    }

    [Fact]
    public void Returning_a_lease_restarts_the_idle_clock()
    {
        using var pool = NewPool(TimeSpan.FromMinutes(1));
        pool.Rent(Model, "x").Dispose();
        Advance(TimeSpan.FromSeconds(50));
        pool.Rent(Model, "x").Dispose();
        Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(0, pool.EvictIdle());
        Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(1, pool.EvictIdle());
    }

    [Fact]
    public void Disposing_the_pool_keeps_leased_sessions_until_their_last_lease_returns()
    {
        var pool = NewPool(TimeSpan.FromMinutes(1));
        var first = pool.Rent(Model, "x");
        var second = pool.Rent(Model, "x");
        pool.Dispose();

        Assert.Equal(1, pool.Count);
        Assert.Equal(0, pool.SessionsDisposed);
        Assert.NotNull(first.Detector.Detect(Image));
        first.Dispose();
        Assert.NotNull(second.Detector.Detect(Image));
        second.Dispose();
        Assert.Equal(0, pool.Count);
        Assert.Equal(1, pool.SessionsDisposed);

        var ex = Assert.Throws<ModelCacheException>(() => pool.Rent(Model, "x"));
        Assert.Equal("DetectorPoolDisposed", ex.ErrorId);
    }

    [Fact]
    public void Get_keys_by_the_file_fingerprint_so_a_replaced_file_gets_a_new_session()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "model.onnx");
        File.Copy(Model, path);
        using var pool = NewPool(TimeSpan.FromMinutes(1));
        var before = pool.Get(path, null, out var created1);
        Assert.Same(before, pool.Get(path, null, out var created2));

        // Save-Model -Force promotes a new file over the old one (a rename: new inode).
        var staged = path + ".new";
        File.Copy(Model, staged);
        File.Move(staged, path, overwrite: true);
        var after = pool.Get(path, null, out var created3);

        Assert.True(created1);
        Assert.False(created2);
        Assert.True(created3);
        Assert.NotSame(before, after);
    }

    [Fact]
    public void A_failed_load_is_a_ModelCacheException_and_is_not_cached()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "missing.onnx");
        using var pool = NewPool(TimeSpan.FromMinutes(1));
        var ex = Assert.Throws<ModelCacheException>(() => pool.Rent(path, "x"));
        Assert.Equal("ModelFileNotFound", ex.ErrorId);
        Assert.Equal(0, pool.Count);

        File.Copy(Model, path);
        using var lease = pool.Rent(path, "x", null, out var created);
        Assert.True(created);
    }

    [Fact]
    public void The_background_timer_evicts_idle_sessions()
    {
        using var pool = new FaceDetectorPool(TimeSpan.FromMilliseconds(200));
        pool.Rent(Model, "x").Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (pool.Count > 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }

        Assert.Equal(0, pool.Count);
    }
}
