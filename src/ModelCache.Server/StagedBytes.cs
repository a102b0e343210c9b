using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using ModelCache.Transfer;

namespace ModelCache.Server;

/// <summary>
/// How much of a fetch's partial file is safe to read, learned from the saver's own progress reports rather than the
/// file's length: <see cref="ModelSaver"/> reports the bytes written so far, and a new attempt (a retry, a resume whose
/// validator no longer matched, the next source after a bad one) starts with a report at or below what was reported
/// before — it truncates or recreates the partial from that offset. Each such restart opens a new epoch and is recorded,
/// so a reader can tell whether bytes it already handed out may have been rewritten.
/// </summary>
/// <remarks>
/// The saver calls <see cref="Report"/> synchronously, before it writes the next bytes, so a restart is recorded
/// before any byte of the new attempt reaches the file.
/// </remarks>
internal sealed class StagedBytes : IProgress<TransferProgress>
{
    private readonly object _gate = new();
    private readonly List<Restart> _restarts = new();
    private readonly TaskCompletionSource<bool> _streaming = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<bool> _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _available;
    private int _epoch;
    private bool _streamable = true;

    /// <summary>Completes at the first byte-level report: the source answered and bytes are on their way.</summary>
    public Task Streaming => _streaming.Task;

    /// <summary>
    /// Called as each attempt opens its source, before the saver touches the partial. Bytes of an attempt that is not
    /// streamable (a local directory mirror) are never handed out while they are written: it counts as a restart from
    /// zero at once (what was readable may be rewritten), and nothing more becomes readable until the fetch verifies;
    /// readers then get the bytes from the verified file.
    /// </summary>
    public void BeginAttempt(bool streamable)
    {
        TaskCompletionSource<bool> changed;
        lock (_gate)
        {
            _streamable = streamable;
            if (streamable)
            {
                return;
            }

            _epoch++;
            _restarts.Add(new Restart(_epoch, 0));
            _available = 0;
            changed = _changed;
            _changed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult(true);
    }

    public void Report(TransferProgress value)
    {
        if (value.Phase != TransferPhase.Downloading)
        {
            return;
        }

        TaskCompletionSource<bool> changed;
        lock (_gate)
        {
            if (!_streamable)
            {
                return; // a local source's bytes: readable only from the verified file
            }

            // Within one attempt the reports strictly grow; one at or below the last is the start of another attempt.
            if (_epoch == 0 || value.BytesDone <= _available)
            {
                _epoch++;
                _restarts.Add(new Restart(_epoch, value.BytesDone));
            }

            _available = value.BytesDone;
            changed = _changed;
            _changed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult(true);
        _streaming.TrySetResult(true);
    }

    /// <summary>The current epoch, the bytes readable in it, and a task completing at the next report.</summary>
    public Snapshot Take()
    {
        lock (_gate)
        {
            return new Snapshot(_epoch, _available, _changed.Task);
        }
    }

    public int Epoch
    {
        get
        {
            lock (_gate)
            {
                return _epoch;
            }
        }
    }

    /// <summary>The lowest offset any attempt after <paramref name="epoch"/> restarted from; null when none did.</summary>
    public long? LowestRestartAfter(int epoch)
    {
        lock (_gate)
        {
            long? lowest = null;
            foreach (var restart in _restarts)
            {
                if (restart.Epoch > epoch && (lowest is null || restart.Offset < lowest))
                {
                    lowest = restart.Offset;
                }
            }

            return lowest;
        }
    }

    internal readonly struct Snapshot
    {
        public Snapshot(int epoch, long available, Task changed)
        {
            Epoch = epoch;
            Available = available;
            Changed = changed;
        }

        public int Epoch { get; }

        public long Available { get; }

        public Task Changed { get; }
    }

    private readonly struct Restart
    {
        public Restart(int epoch, long offset)
        {
            Epoch = epoch;
            Offset = offset;
        }

        public int Epoch { get; }

        public long Offset { get; }
    }
}
