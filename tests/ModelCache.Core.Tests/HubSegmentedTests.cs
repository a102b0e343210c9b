using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.HuggingFace;
using ModelCache.Testing;
using ModelCache.Transfer;
using Xunit;
using Xunit.Abstractions;

namespace ModelCache.Core.Tests;

/// <summary>
/// Hub-cache saves (Save-Model -HuggingFaceRepo) of large blobs go through the segmented engine against the loopback
/// <see cref="HubServer"/> with a per-connection rate limit on its storage host: several ranges, resumed after a cancel,
/// one stream for a storage that ignores ranges, and never a full-length <c>.incomplete</c> that huggingface_hub would
/// resume from its length.
/// </summary>
public sealed class HubSegmentedTests : IAsyncLifetime
{
    private const int Size = (6 << 20) + 4321;
    private static readonly byte[] Bytes = TestModels.RandomBytes(Size, seed: 123);
    private static readonly string BlobId = TestModels.Sha256Of(Bytes);
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _temp = new("modelcache-hubseg");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(120));
    private readonly ConcurrentQueue<string> _warnings = new();
    private readonly ConcurrentQueue<TransferProgress> _progress = new();
    private HubServer _hub = null!;
    private HubTestRepo _repo = null!;
    private string _commit = null!;

    public HubSegmentedTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private string Root => _temp.Combine("hub");

    private string Blobs => Path.Combine(Root, "models--acme--large", "blobs");

    public async Task InitializeAsync()
    {
        _hub = await HubServer.StartAsync();
        _repo = _hub.AddRepo("acme/large");
        _commit = _repo.Commit("main", HubTestFile.Lfs("onnx/model.onnx", Bytes));
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _timeout.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_large_blob_from_a_throttled_storage_is_fetched_as_several_ranges_verified_and_linked()
    {
        _hub.BytesPerSecond = 2 << 20;

        var result = await DownloadAsync();

        _output.WriteLine(string.Join(Environment.NewLine, _hub.StorageRequests));
        Assert.True(_hub.StorageRequests.Count(r => r.Status == 206 && r.Range.Length > 0) >= 3, "the blob was fetched as several ranges");
        Assert.Contains(_progress, p => p.Connections >= 2);
        Assert.Equal(Bytes, File.ReadAllBytes(Path.Combine(Blobs, BlobId)));
        var pointer = Path.Combine(Root, "models--acme--large", "snapshots", _commit, "onnx", "model.onnx");
        Assert.Equal(pointer, result.Path);
        Assert.Equal("../../../blobs/" + BlobId, new FileInfo(pointer).LinkTarget);
        Assert.Equal(Bytes, File.ReadAllBytes(pointer));
        Assert.Equal(new[] { BlobId }, Directory.GetFiles(Blobs).Select(Path.GetFileName)); // no .partial, .partial.json or .incomplete left
        Assert.Equal(Size, result.Transfer.BytesTransferred, (double)Size / 5);
    }

    [Fact]
    public async Task A_cancelled_save_leaves_no_incomplete_for_huggingface_hub_and_resumes_only_the_missing_ranges()
    {
        _hub.BytesPerSecond = 1 << 20;
        await CancelAfterAThirdAsync();

        // huggingface_hub resumes blobs/<id>.incomplete from its length: a file allocated in full with holes must not be there.
        Assert.False(File.Exists(Path.Combine(Blobs, BlobId + ".incomplete")), "no .incomplete for huggingface_hub to misread");
        Assert.False(File.Exists(Path.Combine(Blobs, BlobId)));
        Assert.Equal(Size, new FileInfo(Path.Combine(Blobs, BlobId + ".partial")).Length);
        Assert.Contains("\"done\"", File.ReadAllText(Path.Combine(Blobs, BlobId + ".partial.json")));
        var before = _hub.StorageRequests.Sum(r => r.BytesSent);

        var result = await DownloadAsync();

        var resumedSent = _hub.StorageRequests.Sum(r => r.BytesSent) - before;
        var sent = _hub.StorageRequests.Sum(r => r.BytesSent);
        _output.WriteLine($"sent {sent} ({resumedSent} after the cancel) for {Size}: " + string.Join(" ", _hub.StorageRequests.Select(r => $"{r.Status}:{r.BytesSent}@{r.Range}")));
        Assert.True(result.Transfer.Resumed);
        Assert.True(sent < Size * 1.2, $"the storage sent {sent} bytes for a {Size}-byte blob");
        Assert.True(resumedSent < Size * 0.8, $"the resumed run fetched {resumedSent} bytes: only the missing ranges");
        Assert.Equal(Bytes, File.ReadAllBytes(result.Path));
        Assert.Equal(new[] { BlobId }, Directory.GetFiles(Blobs).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Segments_resume_after_the_branch_moved_when_the_blob_is_the_same()
    {
        _hub.BytesPerSecond = 1 << 20;
        await CancelAfterAThirdAsync();
        var moved = _repo.Commit("main", HubTestFile.Small("README.md", "new"u8.ToArray()));
        Assert.NotEqual(_commit, moved);
        var before = _hub.StorageRequests.Sum(r => r.BytesSent);

        var result = await DownloadAsync();

        var resumedSent = _hub.StorageRequests.Sum(r => r.BytesSent) - before;
        Assert.Equal(moved, result.Entry.Revision);
        Assert.True(result.Transfer.Resumed);
        Assert.True(resumedSent < Size * 0.8, $"the resumed run fetched {resumedSent} bytes: only the missing ranges");
        Assert.Equal(Bytes, File.ReadAllBytes(result.Path));
    }

    [Fact]
    public async Task A_storage_that_ignores_ranges_is_read_as_one_stream()
    {
        _hub.BytesPerSecond = 2 << 20;
        _hub.IgnoresRanges = true;

        var result = await DownloadAsync();

        _output.WriteLine(string.Join(Environment.NewLine, _hub.StorageRequests) + Environment.NewLine + string.Join(Environment.NewLine, _warnings));
        Assert.Equal(Bytes, File.ReadAllBytes(result.Path));
        Assert.Contains(_warnings, w => w.Contains("ignored a range request", StringComparison.Ordinal) && w.Contains("one connection", StringComparison.Ordinal));
        Assert.DoesNotContain(_hub.StorageRequests, r => r.Status == 206);
        Assert.Equal(new[] { BlobId }, Directory.GetFiles(Blobs).Select(Path.GetFileName));
    }

    [Fact]
    public async Task One_connection_per_host_reads_the_blob_as_one_stream()
    {
        _hub.BytesPerSecond = 8 << 20;

        var result = await DownloadAsync(connections: 1);

        var get = Assert.Single(_hub.StorageRequests, r => r.Method == "GET");
        Assert.Equal(200, get.Status);
        Assert.DoesNotContain(_progress, p => p.Connections > 1);
        Assert.Equal(Bytes, File.ReadAllBytes(result.Path));
    }

    [Fact]
    public async Task A_contiguous_incomplete_left_by_huggingface_hub_is_resumed_from_its_length()
    {
        Directory.CreateDirectory(Blobs);
        File.WriteAllBytes(Path.Combine(Blobs, BlobId + ".incomplete"), Bytes.Take(1 << 20).ToArray());

        var result = await DownloadAsync();

        var get = Assert.Single(_hub.StorageRequests, r => r.Method == "GET");
        Assert.Equal("bytes=1048576-", get.Range);
        Assert.True(result.Transfer.Resumed);
        Assert.Equal(Size - (1 << 20), result.Transfer.BytesTransferred);
        Assert.Equal(Bytes, File.ReadAllBytes(result.Path));
        Assert.Equal(new[] { BlobId }, Directory.GetFiles(Blobs).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Segments_that_do_not_hash_to_the_blob_id_are_never_promoted()
    {
        _hub.BytesPerSecond = 2 << 20;
        _hub.WrongBytes = TestModels.RandomBytes(Size, seed: 124);

        var failure = await Assert.ThrowsAsync<TransferException>(() => DownloadAsync());

        Assert.Equal("HubBlobHashMismatch", failure.ErrorId);
        Assert.True(_hub.StorageRequests.Count(r => r.Status == 206) >= 2, "fetched in segments");
        Assert.False(Directory.Exists(Blobs) && Directory.GetFiles(Blobs).Length > 0, "nothing kept: " + string.Join(", ", Directory.Exists(Blobs) ? Directory.GetFiles(Blobs) : Array.Empty<string>()));
    }

    private async Task CancelAfterAThirdAsync()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token);
        // Four connections of 1 MiB/s: about 1.5 s for the whole blob, so the cancel lands well before its end.
        var save = DownloadAsync(connections: 4, token: stop.Token);
        while (!_progress.Any(p => p.BytesReceived > Size / 3) && !save.IsCompleted)
        {
            await Task.Delay(20, _timeout.Token);
        }

        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => save);
    }

    private async Task<HubDownloadResult> DownloadAsync(int connections = 8, CancellationToken? token = null)
    {
        var network = new NetworkOptions
        {
            Timeout = TimeSpan.FromSeconds(10),
            RetryCount = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            ConnectionsPerHost = connections,
            SegmentedMinimumSize = 1 << 20,
        };
        using var downloader = new HubDownloader(new HubSettings(Root, _hub.Endpoint), network, new FakeEnvironment(_temp.Path));
        return await downloader.DownloadAsync("acme/large", "onnx/model.onnx", progress: new Progress(_progress), warn: _warnings.Enqueue, cancellationToken: token ?? _timeout.Token);
    }

    private sealed class Progress : IProgress<TransferProgress>
    {
        private readonly ConcurrentQueue<TransferProgress> _queue;

        public Progress(ConcurrentQueue<TransferProgress> queue)
        {
            _queue = queue;
        }

        public void Report(TransferProgress value) => _queue.Enqueue(value);
    }
}
