using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.IO;

namespace ModelCache.Server;

/// <summary>
/// Reads a model while its fetch writes it: from the partial file, never past the bytes the saver has reported written
/// (<see cref="StagedBytes"/>), waiting for more as they arrive, up to the catalog size less one byte. The last byte
/// waits for the fetch's verdict: verified → it is read and the stream ends normally; anything else → it throws, so
/// the response is aborted, never completed.
/// </summary>
/// <remarks>
/// <para>The handle is opened with <c>FileShare.ReadWrite | FileShare.Delete</c>: the saver keeps writing, and the
/// promotion renames the partial under its final name while it is open (an open descriptor survives a rename on Unix;
/// on Windows the delete share is what lets the rename through). The same handle then reads the promoted file.</para>
/// <para>A restart of the saver (see <see cref="StagedBytes"/>) below a byte this stream already handed out fails the
/// stream with <c>UpstreamRestarted</c>: those bytes may be rewritten, and the client resumes from what it holds
/// (a resume is re-checked by the client's own hash). A restart above it only reopens the handle, as the partial may
/// have been recreated as a new file; bytes read but not yet handed out when a restart is seen are read again.</para>
/// </remarks>
internal sealed class TailingStream : Stream
{
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan LastPoll = TimeSpan.FromMilliseconds(200);
    private readonly InFlightFetch _fetch;
    private readonly long _start;
    private readonly long _length;
    private FileStream? _file;
    private long _position;
    private int _epoch;
    private TimeSpan _poll = FirstPoll;

    public TailingStream(InFlightFetch fetch, long start, long length)
    {
        _fetch = fetch;
        _start = start;
        _length = length;
        _position = start;
        _epoch = fetch.Staged.Epoch;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return 0;
        }

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var snapshot = _fetch.Staged.Take();
            Revalidate(snapshot.Epoch);
            if (_position >= _length)
            {
                return await EndAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_fetch.Failed)
            {
                throw _fetch.Failure();
            }

            // The last byte is held back until the fetch verified: with Content-Length framing, a client holding every
            // byte holds a complete-looking body, so an abort after the last byte would come too late.
            var succeeded = _fetch.Succeeded;
            var readable = succeeded ? _length : Math.Min(snapshot.Available, _length - 1);
            if (_position < readable && Open(succeeded) is { } file)
            {
                var read = await file.ReadAsync(buffer, offset, (int)Math.Min(count, readable - _position), cancellationToken).ConfigureAwait(false);
                if (_fetch.Staged.Epoch != snapshot.Epoch)
                {
                    continue; // the saver restarted meanwhile: judge (and maybe re-read) these bytes under the new epoch
                }

                if (read > 0)
                {
                    _position += read;
                    _poll = FirstPoll;
                    return read;
                }
            }

            // Reported bytes may still sit in the saver's write buffer (a short read), the partial may not exist yet or
            // have just been renamed: wait for the next report or the verdict, polling briefly for the file to catch up.
            await WaitAsync(snapshot.Changed, cancellationToken).ConfigureAwait(false);
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
            _file?.Dispose();
            _file = null;
        }

        base.Dispose(disposing);
    }

    /// <summary>Fails when a restart since the last check may have rewritten bytes already handed out; reopens after any restart.</summary>
    private void Revalidate(int epoch)
    {
        if (epoch == _epoch)
        {
            return;
        }

        if (_position > _start && _fetch.Staged.LowestRestartAfter(_epoch) is { } restart && restart < _position)
        {
            throw Restarted(restart);
        }

        _file?.Dispose();
        _file = null;
        _epoch = epoch;
    }

    private async Task<int> EndAsync(CancellationToken cancellationToken)
    {
        await TaskWaits.WhenAnyAsync(_fetch.Completion, _fetch.Completion, cancellationToken).ConfigureAwait(false);
        Revalidate(_fetch.Staged.Epoch);
        if (!_fetch.Succeeded)
        {
            throw _fetch.Failure();
        }

        return 0;
    }

    private async Task WaitAsync(Task changed, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(_poll, timer.Token);
        await Task.WhenAny(changed, _fetch.Completion, delay).ConfigureAwait(false);
        timer.Cancel();
        cancellationToken.ThrowIfCancellationRequested();
        _poll = TimeSpan.FromTicks(Math.Min(_poll.Ticks * 2, LastPoll.Ticks));
    }

    /// <summary>The open handle, or the file opened at the current position: the partial while fetching, the final file once verified; null when not there yet.</summary>
    private FileStream? Open(bool verified)
    {
        if (_file is not null)
        {
            return _file;
        }

        try
        {
            // Unbuffered: a read-ahead could hold bytes past what the saver reported.
            var file = RegularFile.Open(verified ? _fetch.FinalPath : _fetch.PartialPath, FileMode.Open, FileAccess.Read,
                FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            file.Seek(_position, SeekOrigin.Begin);
            _file = file;
            return file;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private ModelCacheException Restarted(long restart) => new("UpstreamRestarted", ModelCacheErrorKind.ConnectionError,
        $"The fetch of {_fetch.Model.Name} started again from byte {restart} after {_position} bytes of it had been sent; this response is cut short so no byte that may change is completed.",
        "Download again or resume: the server keeps fetching, and a resumed transfer is verified by its SHA-256 as usual.");
}
