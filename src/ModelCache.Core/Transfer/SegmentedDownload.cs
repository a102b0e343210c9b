using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.IO;

namespace ModelCache.Transfer;

/// <summary>
/// Fetches the missing ranges of one file over several connections at once, each writing its bytes in place into the one
/// partial file (positional writes through its own handle). It only fills the partial: the caller (<see cref="ModelSaver"/>)
/// then hashes the whole file, fsyncs and promotes it as for any download, so nothing unverified is ever promoted.
/// </summary>
/// <remarks>
/// Work is handed out in order, a chunk at a time (the lowest range nobody fetches), so the complete prefix grows
/// steadily: the SHA-256 follows it (<see cref="Sha256"/>, read back from the page cache while the network is the
/// bottleneck) and only the last few chunks are hashed after the last byte; a pull-through streams that prefix. Each segment is a
/// request for exactly its range with If-Range: the validator of the first answer; an answer that is not a 206 for exactly
/// that range of a file of the same size and validator is a <see cref="SegmentRefusedException"/> (the caller starts
/// again over one connection). An extra connection that fails (429, 503, a reset, a stall) gives its range back and the
/// host's budget shrinks by one. Every copy keeps the caps and stall rules of one download (<see cref="HashingCopier"/>).
/// </remarks>
internal sealed class SegmentedDownload
{
    /// <summary>Smaller files go over one connection: a few more round trips would cost more than they save.</summary>
    public const long MinimumSize = 32L << 20;

    /// <summary>Chunks are at least this big (a request per chunk) …</summary>
    private const long MinimumChunk = 1L << 20;

    /// <summary>… and at most this big (the hash trails the last byte by about connections × chunk).</summary>
    private const long MaximumChunk = 8L << 20;

    /// <summary>The first connection runs alone at least this long before its rate decides whether more would pay.</summary>
    private static readonly TimeSpan RampAfter = TimeSpan.FromMilliseconds(100);

    /// <summary>Its rate is taken over this much of the recent past, looked at every <see cref="RampPoll"/> while it runs alone.</summary>
    private static readonly TimeSpan RateWindow = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan RampPoll = TimeSpan.FromMilliseconds(25);

    /// <summary>More connections only pay when one would take longer than this for the rest.</summary>
    private static readonly TimeSpan WorthSplitting = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan StateInterval = TimeSpan.FromSeconds(1);
    private static readonly IReadOnlyList<IncrementalHash> NoHashes = Array.Empty<IncrementalHash>();

    private readonly object _gate = new();
    private readonly List<Span> _spans = new();
    private readonly RangeSet _done;
    private readonly Job _job;
    private readonly HostConnections _budget;
    private readonly List<Task> _workers = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Stopwatch _sinceReport = Stopwatch.StartNew();
    private readonly long _chunk;
    private long _hashed;
    private Exception? _fatal;
    private TransferException? _lastTransient;
    private long _received;
    private int _active;
    private bool _warnedBackOff;
    private bool _ramped;
    private readonly Queue<(TimeSpan At, long Received)> _samples = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public SegmentedDownload(Job job, RangeSet done)
    {
        _job = job;
        _done = done.Clone();
        _budget = HostConnections.For(job.Network);
        var perConnection = job.Size / Math.Max(1, _budget.Limit * 8);
        _chunk = Math.Min(MaximumChunk, Math.Max(MinimumChunk, perConnection / MinimumChunk * MinimumChunk));
    }

    /// <summary>After <see cref="RunAsync"/>: the SHA-256 of the whole partial file, lower-case hex.</summary>
    public string? Sha256 { get; private set; }

    /// <summary>Bytes received by this run, over all connections.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Whether <paramref name="content"/> may be fetched in segments: ranges offered, a validator, a known size that is large enough, a budget above one.</summary>
    public static bool CanSegment(SourceContent content, long? size, NetworkOptions network) =>
        content.OpenRange is not null && content.Host is not null && content.Validator is not null && size is { } length && length >= network.SegmentedMinimumSize
        && content.TotalLength == length && HostConnections.For(network).LimitOf(content.Host) > 1;

    /// <summary>
    /// The whole fill of the partial, for every caller the same: its state written before any byte (the file is allocated
    /// in full, so its length no longer says what is held), the file allocated, the missing ranges fetched starting with
    /// <paramref name="first"/> (already open, its body positioned at <see cref="SourceContent.Offset"/>, the start of the
    /// first missing range), and the file flushed to disk. <see cref="Sha256"/> is then the whole file's; the caller
    /// compares it and promotes.
    /// </summary>
    public async Task FillAsync(SourceContent first, CancellationToken cancellationToken)
    {
        _job.Save(_done);
        using (var file = RegularFile.Open(_job.Path, _done.Total > 0 ? FileMode.OpenOrCreate : FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite, 1))
        {
            if (file.Length != _job.Size)
            {
                file.SetLength(_job.Size);
            }

            _job.Network.FileSystem.Preallocate(file, 0, _job.Size);
        }

        Progress(_done.PrefixEnd, _done.Total, 1);
        await RunAsync(first, first.Content, cancellationToken).ConfigureAwait(false);

        // Flushed to disk before the rename, as every save is.
        using (var file = RegularFile.Open(_job.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1))
        {
            file.Flush(true);
        }
    }

    /// <summary>Fills the missing ranges; <paramref name="first"/>, with its body <paramref name="firstBody"/>, is the first connection.</summary>
    private async Task RunAsync(SourceContent first, Stream firstBody, CancellationToken cancellationToken)
    {
        var gaps = _done.Gaps(_job.Size);
        if (gaps.Count == 0)
        {
            return;
        }

        if (gaps[0].Start != first.Offset)
        {
            throw new InvalidOperationException($"The first connection starts at {first.Offset}, the first missing range at {gaps[0].Start}.");
        }

        foreach (var (start, end) in gaps)
        {
            _spans.Add(new Span(start, end));
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var token = linked.Token;
        // The first answer runs to the end of the file: alone, it keeps streaming chunk after chunk; once more connections pay, it stops.
        var streaming = Claim()!;
        streaming.Streaming = true;
        using var cut = streaming.Cut = new CancellationTokenSource();
        Start(first, firstBody, streaming, _budget.First(_job.Host), token);
        var hashing = Task.Factory.StartNew(() => HashPrefix(token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var saved = Stopwatch.StartNew();
        var lastPrefix = -1L;
        var done = false;
        try
        {
            while (true)
            {
                if (_ramped || WorthMoreConnections())
                {
                    if (!_ramped)
                    {
                        _ramped = true;
                        StopStreaming(streaming);
                    }

                    AddConnections(token);
                }

                Task all;
                lock (_gate)
                {
                    all = Task.WhenAll(_workers.ToArray());
                }

                await Task.WhenAny(all, Task.Delay(_ramped ? TimeSpan.FromMilliseconds(200) : RampPoll, CancellationToken.None)).ConfigureAwait(false);
                Report(ref lastPrefix);
                if (saved.Elapsed >= StateInterval)
                {
                    Save();
                    saved.Restart();
                }

                if (Volatile.Read(ref _fatal) is { } fatal)
                {
                    _stop.Cancel();
                    await all.ConfigureAwait(false);
                    throw fatal;
                }

                if (!all.IsCompleted)
                {
                    continue;
                }

                cancellationToken.ThrowIfCancellationRequested();
                lock (_gate)
                {
                    done = _spans.Count == 0;
                }

                if (done)
                {
                    await hashing.ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    if (Interlocked.Read(ref _hashed) != _job.Size)
                    {
                        throw new InvalidOperationException($"The hash of '{_job.Path}' stopped at {Interlocked.Read(ref _hashed)} bytes of {_job.Size}.");
                    }

                    Sha256 = Integrity.Sha256Hasher.ToHex(_sha256.GetHashAndReset());
                    return;
                }

                // Every connection ended with ranges left: a transient failure ended the last one; the caller retries and resumes.
                if (_lastTransient is { } transient)
                {
                    throw transient;
                }

                if (Claim() is { } span)
                {
                    Start(null, null, span, _budget.First(_job.Host), token);
                }
            }
        }
        finally
        {
            Task rest;
            lock (_gate)
            {
                rest = Task.WhenAll(_workers.ToArray());
            }

            _stop.Cancel();
            try
            {
                await Task.WhenAll(rest, hashing).ConfigureAwait(false);
            }
            catch (Exception)
            {
            }

            _sha256.Dispose();

            // What arrived is recorded, so a retry or the next run (after Ctrl+C, or a crash after the last save) fetches only the rest.
            // Not after a whole file: it is promoted (or refused) next, and the durable write of the state cost 50-80 ms.
            if (Sha256 is null)
            {
                Save();
            }

            Report(ref lastPrefix);
        }
    }

    /// <summary>
    /// After <see cref="RampAfter"/>: whether the rest would take one connection more than <see cref="WorthSplitting"/> at
    /// its rate over the last <see cref="RateWindow"/>. Not the average since the start: a server's first burst (nginx's
    /// limit_rate sends a second's worth at once) would hide the limit that follows it.
    /// </summary>
    private bool WorthMoreConnections()
    {
        var now = _clock.Elapsed;
        var received = Received;
        _samples.Enqueue((now, received));
        while (_samples.Count > 1 && now - _samples.Peek().At > RateWindow)
        {
            _samples.Dequeue();
        }

        if (now < RampAfter)
        {
            return false;
        }

        long remaining;
        lock (_gate)
        {
            remaining = _job.Size - _done.Total;
        }

        var (at, then) = _samples.Peek();
        var rate = (received - then) / Math.Max((now - at).TotalSeconds, 0.001);
        // A pause near the end (a GC, a flush) is not worth new connections.
        return remaining > 2 * _chunk && (rate <= 0 || remaining / rate > WorthSplitting.TotalSeconds);
    }

    /// <summary>
    /// The open-ended first answer stops where it has read to and its rest goes back to the pool: from now on every
    /// connection asks for one chunk at a time, so a server that limits each request after a first burst (nginx's
    /// limit_rate) does not hold the front of the file, which the hash and a pull-through wait for, at its limit.
    /// </summary>
    private void StopStreaming(Span streaming)
    {
        lock (_gate)
        {
            if (!streaming.Streaming || !streaming.Owned)
            {
                return;
            }

            streaming.Streaming = false;
            var cut = Math.Max(streaming.Position, streaming.Read);
            if (cut < streaming.End)
            {
                _spans.Add(new Span(cut, streaming.End));
                streaming.End = cut;
            }
        }

        // A read waiting on a server that sends nothing more would hold the connection until the stall timeout.
        streaming.Cut?.Cancel();
    }

    /// <summary>Opens extra connections while the host's budget allows and there is a range worth splitting.</summary>
    private void AddConnections(CancellationToken token)
    {
        while (!token.IsCancellationRequested && Volatile.Read(ref _fatal) is null && Volatile.Read(ref _active) < _budget.LimitOf(_job.Host))
        {
            if (!HasWorkToShare())
            {
                return;
            }

            var lease = _budget.TryExtra(_job.Host);
            if (lease is null)
            {
                return;
            }

            if (Claim() is not { } span)
            {
                lease.Dispose();
                return;
            }

            Start(null, null, span, lease, token);
        }
    }

    private bool HasWorkToShare()
    {
        lock (_gate)
        {
            return _spans.Any(s => !s.Owned);
        }
    }

    private void Start(SourceContent? content, Stream? body, Span span, IDisposable lease, CancellationToken token)
    {
        Interlocked.Increment(ref _active);
        var worker = Task.Run(() => WorkAsync(content, body, span, lease, token));
        lock (_gate)
        {
            _workers.Add(worker);
        }
    }

    /// <summary>
    /// The first chunk of the lowest range nobody fetches (a released range included), leaving the chunk right after the
    /// streaming connection to it; null when none is left.
    /// </summary>
    private Span? Claim()
    {
        lock (_gate)
        {
            foreach (var free in _spans.Where(s => !s.Owned).OrderBy(s => s.Position).ToList())
            {
                var reserved = _spans.Any(s => s.Streaming && s.Owned && s.End == free.Position);
                if (!reserved)
                {
                    return Take(free, free.Position);
                }

                if (free.End - free.Position > _chunk)
                {
                    // Split around the streaming connection's next chunk: [reserved][claimed][rest].
                    var claimed = Take(free, free.Position + _chunk);
                    return claimed;
                }
            }

            return null;
        }
    }

    /// <summary>Takes a chunk of <paramref name="free"/> starting at <paramref name="at"/> (its start or one chunk in). Under the lock.</summary>
    private Span Take(Span free, long at)
    {
        var rest = free.End - at;
        var length = rest <= _chunk + (_chunk / 2) ? rest : _chunk;
        if (at == free.Position && length == rest)
        {
            free.Owned = true;
            return free;
        }

        var chunk = new Span(at, at + length) { Owned = true };
        _spans.Add(chunk);
        if (at + length < free.End)
        {
            _spans.Add(new Span(at + length, free.End));
        }

        if (at == free.Position)
        {
            _spans.Remove(free);
        }
        else
        {
            free.End = at;
        }

        return chunk;
    }

    /// <summary>The streaming connection reached its end: it goes on into the next chunk if nobody has it. Under the lock.</summary>
    private bool Extend(Span span)
    {
        var next = _spans.FirstOrDefault(s => !s.Owned && s.Position == span.End);
        if (next is null)
        {
            return false;
        }

        var rest = next.End - next.Position;
        var length = rest <= _chunk + (_chunk / 2) ? rest : _chunk;
        span.End += length;
        if (length == rest)
        {
            _spans.Remove(next);
        }
        else
        {
            next.Position += length;
        }

        return true;
    }

    /// <summary>
    /// Feeds the hash the complete prefix as it grows, read back from the file (the page cache) while the rest arrives, up
    /// to the end of the file. On its own thread with blocking reads: as a pool task it queued behind every connection's
    /// completions and fell a quarter of the file behind on two cores, all of which was then hashed after the last byte.
    /// </summary>
    private void HashPrefix(CancellationToken token)
    {
        try
        {
            using var file = RegularFile.Open(_job.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            var buffer = new byte[1 << 20];
            var from = 0L;
            var flushed = 0L;
            var fileSystem = _job.Limits.FileSystem;
            var granularity = fileSystem.WriteBackGranularity;
            file.Seek(0, SeekOrigin.Begin);
            while (from < _job.Size)
            {
                token.ThrowIfCancellationRequested();
                long prefix;
                lock (_gate)
                {
                    prefix = _done.PrefixEnd;
                }

                if (prefix - from < MinimumChunk && prefix < _job.Size)
                {
                    token.WaitHandle.WaitOne(5);
                    continue;
                }

                while (from < prefix)
                {
                    var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, prefix - from));
                    if (read == 0)
                    {
                        throw new IOException($"The partial file '{_job.Path}' ended at {from} bytes, before {prefix}.");
                    }

                    _sha256.AppendData(buffer, 0, read);
                    from += read;
                }

                Interlocked.Exchange(ref _hashed, from);
                if (from - flushed >= granularity || from == _job.Size)
                {
                    // The hashed prefix goes to the disk now (no waiting), so the fsync before promotion has only the end left.
                    fileSystem.StartWriteBack(file, flushed, from - flushed);
                    flushed = from;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WorkAsync(SourceContent? content, Stream? body, Span? span, IDisposable lease, CancellationToken token)
    {
        var extra = content is null;
        try
        {
            using var file = RegularFile.Open(_job.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
            while (span is not null)
            {
                if (content is null)
                {
                    content = await OpenAsync(span, token).ConfigureAwait(false);
                    body = content.Content;
                }

                try
                {
                    await CopyAsync(body!, file, span, token).ConfigureAwait(false);
                }
                finally
                {
                    // A body cut short by a split ends its connection here; the next range is a new request.
                    content.Dispose();
                    content = null;
                }

                lock (_gate)
                {
                    if (span.Position < span.End)
                    {
                        throw TransferException.Transient("DownloadInterrupted",
                            $"{_job.Location} ended a segment of {_job.Subject} at byte {span.Position} of {span.End}.", "Retry; the partial download is kept and resumed.");
                    }

                    _spans.Remove(span);
                }

                span = Claim();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException && token.IsCancellationRequested)
        {
            Release(span);
        }
        catch (TransferException ex) when (ex.IsTransient && ex.KeepPartial)
        {
            // 429, 503, a reset, a stall: this connection's range goes back to the others, and the host gets one connection fewer.
            Release(span);
            _lastTransient = ex;
            if (extra)
            {
                var limit = _budget.BackOff(_job.Host);
                if (!_warnedBackOff)
                {
                    _warnedBackOff = true;
                    _job.Warn?.Invoke($"{ex.Message} Using at most {limit} connection{(limit == 1 ? string.Empty : "s")} to that host.");
                }
            }
        }
        catch (Exception ex)
        {
            Release(span);
            Interlocked.CompareExchange(ref _fatal, ex, null);
        }
        finally
        {
            content?.Dispose();
            lease.Dispose();
            Interlocked.Decrement(ref _active);
        }
    }

    private void Release(Span? span)
    {
        if (span is null)
        {
            return;
        }

        lock (_gate)
        {
            if (span.Position >= span.End)
            {
                _spans.Remove(span);
            }
            else
            {
                span.Owned = false;
                span.Streaming = false;
            }
        }
    }

    /// <summary>One segment request; anything but a 206 for exactly this range of the same file refuses segmenting.</summary>
    private async Task<SourceContent> OpenAsync(Span span, CancellationToken token)
    {
        long from, to;
        lock (_gate)
        {
            from = span.Position;
            to = span.End - 1;
        }

        SourceContent content;
        try
        {
            content = await _job.OpenRange(from, to, _job.Validator, token).ConfigureAwait(false);
        }
        catch (TransferException ex) when (ex.ErrorId is "UnexpectedContentRange" or "ResumeRejected")
        {
            throw new SegmentRefusedException($"{_job.Location} answered a range request for {_job.Subject} wrongly ({ex.Message})", ex);
        }

        string? problem = null;
        if (content.Validator != _job.Validator)
        {
            problem = $"{_job.Location} changed {_job.Subject} while it was downloaded in segments (validator {_job.Validator}, then {content.Validator ?? "none"})";
        }
        else if (content.Offset != from)
        {
            problem = $"{_job.Location} ignored a range request for {_job.Subject} (it sent the whole file)";
        }
        else if (content.TotalLength != _job.Size || content.RangeEnd is { } end && end != to)
        {
            problem = $"{_job.Location} answered bytes {from}-{to} of {_job.Subject} with a different range or size ({content.RangeEnd?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} of {content.TotalLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}, expected {to} of {_job.Size})";
        }

        if (problem is not null)
        {
            content.Dispose();
            throw new SegmentRefusedException(problem);
        }

        return content;
    }

    private async Task CopyAsync(Stream body, FileStream file, Span span, CancellationToken token)
    {
        long start;
        lock (_gate)
        {
            start = span.Position;
        }

        file.Seek(start, SeekOrigin.Begin);
        var last = start;
        await HashingCopier.CopyAsync(new SpanStream(body, span, start, _gate, Extend), file, NoHashes, start, _job.Limits,
            position =>
            {
                lock (_gate)
                {
                    _done.Add(last, position);
                    span.Position = Math.Max(span.Position, position);
                }

                Interlocked.Add(ref _received, position - last);
                last = position;
            },
            _job.Location, token).ConfigureAwait(false);
    }

    private void Save()
    {
        RangeSet snapshot;
        lock (_gate)
        {
            snapshot = _done.Clone();
        }

        try
        {
            _job.Save(snapshot);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Only the resume point is lost; the download itself goes on.
        }
    }

    /// <summary>The complete prefix only grows (a pull-through streams it to clients); held bytes and connections ride along.</summary>
    private void Report(ref long lastPrefix)
    {
        long prefix, held;
        lock (_gate)
        {
            prefix = _done.PrefixEnd;
            held = _done.Total;
        }

        // A report that repeats the prefix reads as a restart at that offset to a pull-through (harmless, but not free): at most one a second.
        if (prefix < lastPrefix || (prefix == lastPrefix && _sinceReport.Elapsed < TimeSpan.FromSeconds(1)))
        {
            return;
        }

        _sinceReport.Restart();
        lastPrefix = prefix;
        Progress(prefix, held, Math.Max(0, Volatile.Read(ref _active)));
    }

    private void Progress(long prefix, long held, int connections) =>
        _job.Progress?.Report(new TransferProgress(_job.Subject, TransferPhase.Downloading, prefix, _job.Size, _job.Location) { BytesReceived = held, Connections = connections });

    /// <summary>A range [Start, End) being fetched: bytes before <see cref="Position"/> are written. End shrinks when the first answer stops streaming (<see cref="StopStreaming"/>).</summary>
    private sealed class Span
    {
        public Span(long start, long end)
        {
            Position = start;
            End = end;
        }

        public long Position { get; set; }

        public long End { get; set; }

        public bool Owned { get; set; }

        /// <summary>Read from an answer that runs to the end of the file: it may grow chunk by chunk (<see cref="Extend"/>).</summary>
        public bool Streaming { get; set; }

        /// <summary>The end of what its connection has read from the body so far (written or about to be).</summary>
        public long Read { get; set; }

        /// <summary>For the first answer only: ends a read in flight when the span is cut short (<see cref="StopStreaming"/>).</summary>
        public CancellationTokenSource? Cut { get; set; }
    }

    /// <summary>The body of one connection, ending where its range ends now (a split may move the end closer).</summary>
    private sealed class SpanStream : Stream
    {
        private readonly Stream _inner;
        private readonly Span _span;
        private readonly object _gate;
        private readonly Func<Span, bool> _extend;
        private long _position;

        public SpanStream(Stream inner, Span span, long position, object gate, Func<Span, bool> extend)
        {
            _inner = inner;
            _span = span;
            _position = position;
            _gate = gate;
            _extend = extend;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            var allowed = Allowed(count);
            if (allowed == 0)
            {
                return 0;
            }

            if (_span.Cut is not { } cut)
            {
                return Advance(await _inner.ReadAsync(buffer, offset, allowed, cancellationToken).ConfigureAwait(false));
            }

            int read;
            using (var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cut.Token))
            {
                try
                {
                    read = await _inner.ReadAsync(buffer, offset, allowed, either.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException && cut.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    return 0;
                }
            }

            return Advance(read);
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var allowed = Allowed(count);
            return allowed == 0 ? 0 : Advance(_inner.Read(buffer, offset, allowed));
        }

        private int Allowed(int count)
        {
            lock (_gate)
            {
                if (_position >= _span.End && _span.Streaming)
                {
                    _extend(_span);
                }

                return (int)Math.Max(0, Math.Min(count, _span.End - _position));
            }
        }

        /// <summary>Counts a read; bytes past an end that was cut while it was in flight belong to another span and are dropped.</summary>
        private int Advance(int read)
        {
            lock (_gate)
            {
                read = (int)Math.Min(read, Math.Max(0, _span.End - _position));
                _position += read;
                _span.Read = _position;
                return read;
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>What one segmented download needs from its caller.</summary>
    public sealed class Job
    {
        public Job(string path, long size, string validator, string location, string subject, string host, CopyLimits limits, NetworkOptions network,
            Func<long, long, string, CancellationToken, Task<SourceContent>> openRange, Action<RangeSet> save)
        {
            Path = path;
            Size = size;
            Validator = validator;
            Location = location;
            Subject = subject;
            Host = host;
            Limits = limits;
            Network = network;
            OpenRange = openRange;
            Save = save;
        }

        public string Path { get; }

        public long Size { get; }

        public string Validator { get; }

        public string Location { get; }

        public string Subject { get; }

        public string Host { get; }

        public CopyLimits Limits { get; }

        public NetworkOptions Network { get; }

        public Func<long, long, string, CancellationToken, Task<SourceContent>> OpenRange { get; }

        /// <summary>Records the complete ranges (the partial's state), called about once a second and at the end.</summary>
        public Action<RangeSet> Save { get; }

        /// <summary>Downloading reports: the complete prefix as the position, all bytes held, the connections in use.</summary>
        public IProgress<TransferProgress>? Progress { get; set; }

        public Action<string>? Warn { get; set; }
    }
}

/// <summary>The source cannot be trusted with segments (it ignores Range, lies in Content-Range, or the file changed): start again over one connection.</summary>
internal sealed class SegmentRefusedException : Exception
{
    public SegmentRefusedException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
