using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Server;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.Server;

/// <summary>The tailing stream driven step by step, as the saver would: bytes on disk, progress reports, a verdict.</summary>
public sealed class TailingStreamTests : IDisposable
{
    private const int Size = 4000;
    private static readonly byte[] Bytes = TestModels.RandomBytes(Size, seed: 21);
    private readonly TempDirectory _temp = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));
    private readonly TaskCompletionSource<ModelCacheEntry> _verdict = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StagedBytes _staged = new();
    private readonly InFlightFetch _fetch;

    public TailingStreamTests()
    {
        var model = TestModels.Define(Bytes, new Uri("http://upstream.invalid/m.onnx"), fileName: "m.onnx");
        _fetch = new InFlightFetch(model, _temp.Combine("m.onnx.partial"), _temp.Combine("m.onnx"), _staged, _verdict.Task);
    }

    public void Dispose()
    {
        _timeout.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task The_last_read_waits_for_the_verdict_and_a_failed_one_throws()
    {
        File.WriteAllBytes(_fetch.PartialPath, Bytes);
        Written(0, Size);
        using var stream = new TailingStream(_fetch, 0, Size);

        // Every byte but the last: with Content-Length framing the last one would make the body look complete.
        Assert.Equal(Bytes.Take(Size - 1), await ReadAsync(stream, Size - 1));
        var end = stream.ReadAsync(new byte[16], 0, 16, _timeout.Token);
        await Task.Delay(300);
        Assert.False(end.IsCompleted);
        _verdict.SetException(new ModelCacheException("UpstreamFailed", ModelCacheErrorKind.InvalidData, "hash mismatch"));

        Assert.Equal("UpstreamFailed", (await Assert.ThrowsAsync<ModelCacheException>(() => end)).ErrorId);
    }

    [Fact]
    public async Task The_last_byte_follows_a_verified_verdict()
    {
        File.WriteAllBytes(_fetch.PartialPath, Bytes);
        Written(0, Size);
        using var stream = new TailingStream(_fetch, 0, Size);
        Assert.Equal(Bytes.Take(Size - 1), await ReadAsync(stream, Size - 1));

        var last = stream.ReadAsync(new byte[16], 0, 16, _timeout.Token);
        await Task.Delay(300);
        Assert.False(last.IsCompleted);
        File.Move(_fetch.PartialPath, _fetch.FinalPath);
        _verdict.SetResult(null!);

        Assert.Equal(1, await last);
        Assert.Equal(0, await stream.ReadAsync(new byte[16], 0, 16, _timeout.Token));
    }

    [Fact]
    public async Task Bytes_are_read_only_as_reported_and_through_the_promotion_rename()
    {
        File.WriteAllBytes(_fetch.PartialPath, Bytes); // more on disk than reported: none of it may be read early
        Written(0, 1000);
        using var stream = new TailingStream(_fetch, 0, Size);
        Assert.Equal(Bytes.Take(1000), await ReadAsync(stream, 1000));
        var buffer = new byte[Size];
        var next = stream.ReadAsync(buffer, 0, Size, _timeout.Token);
        await Task.Delay(200);
        Assert.False(next.IsCompleted);

        File.Move(_fetch.PartialPath, _fetch.FinalPath); // promoted while the stream holds the partial open
        Written(Size);
        var read = await next;
        Assert.Equal(Bytes.Skip(1000).Take(read), buffer.Take(read));
        Assert.Equal(Bytes.Skip(1000 + read).Take(Size - 1 - 1000 - read), await ReadAsync(stream, Size - 1 - 1000 - read));
        _verdict.SetResult(null!);
        Assert.Equal(Bytes.Skip(Size - 1), await ReadAsync(stream, 1));
        Assert.Equal(0, await stream.ReadAsync(buffer, 0, 16, _timeout.Token));
    }

    [Fact]
    public async Task A_restart_below_bytes_already_sent_fails_the_stream()
    {
        File.WriteAllBytes(_fetch.PartialPath, Bytes);
        Written(0, 2000);
        using var stream = new TailingStream(_fetch, 0, Size);
        await ReadAsync(stream, 1500);

        Written(1000); // the saver resumed below what was sent: those bytes may be rewritten

        Assert.Equal("UpstreamRestarted", (await Assert.ThrowsAsync<ModelCacheException>(() => stream.ReadAsync(new byte[16], 0, 16, _timeout.Token))).ErrorId);
    }

    [Fact]
    public async Task A_restart_at_or_above_the_bytes_sent_reopens_the_partial_and_goes_on()
    {
        File.WriteAllBytes(_fetch.PartialPath, Bytes.Take(500).Concat(new byte[500]).ToArray());
        Written(0, 1000);
        using var stream = new TailingStream(_fetch, 0, Size);
        Assert.Equal(Bytes.Take(500), await ReadAsync(stream, 500));

        // The bad partial is deleted and a new one written from scratch; the stream has sent only the first 500 bytes.
        File.Delete(_fetch.PartialPath);
        File.WriteAllBytes(_fetch.PartialPath, Bytes);
        Written(500, Size);
        Promote();

        var rest = await StreamReading.ReadToEndAsync(stream, _timeout.Token);
        Assert.Equal(Bytes.Skip(500), rest);
    }

    [Fact]
    public async Task A_reader_from_an_offset_gets_the_bytes_from_there()
    {
        File.WriteAllBytes(_fetch.PartialPath, Bytes);
        Written(0, Size);
        Promote();
        using var stream = new TailingStream(_fetch, 3000, Size);

        var rest = await StreamReading.ReadToEndAsync(stream, _timeout.Token);

        Assert.Equal(Bytes.Skip(3000), rest);
    }

    /// <summary>What the saver does on success: the partial takes the final name, then the fetch completes.</summary>
    private void Promote()
    {
        File.Move(_fetch.PartialPath, _fetch.FinalPath);
        _verdict.SetResult(null!);
    }

    private void Written(params long[] reports)
    {
        foreach (var bytesDone in reports)
        {
            _staged.Report(new TransferProgress("Test/TINY", TransferPhase.Downloading, bytesDone, Size, "http://upstream.invalid/m.onnx"));
        }
    }

    private Task<byte[]> ReadAsync(Stream stream, int count) => StreamReading.ReadExactlyAsync(stream, count, _timeout.Token);
}
