using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using ModelCache.Primitives;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Turns Core transfer reports into throttled progress records: one child activity per model
/// under a parent activity for the batch. Reports arrive on worker threads and are posted to the
/// pipeline thread through the bridge.
/// </summary>
internal sealed class ProgressWriter : IProgress<TransferProgress>
{
    private const int ParentId = 1;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private readonly Cmdlet _cmdlet;
    private readonly PipelineBridge _bridge;
    private readonly string _activity;
    private readonly Dictionary<string, (int Id, Stopwatch Clock, TimeSpan LastWrite, TransferPhase Phase)> _models = new(StringComparer.OrdinalIgnoreCase);
    private readonly object _gate = new();
    private int _nextId = ParentId + 1;
    private int _batchDone = -1;

    public ProgressWriter(Cmdlet cmdlet, PipelineBridge bridge, string activity)
    {
        _cmdlet = cmdlet;
        _bridge = bridge;
        _activity = activity;
    }

    public void Report(TransferProgress value)
    {
        ProgressRecord record;
        lock (_gate)
        {
            if (!_models.TryGetValue(value.Name, out var state))
            {
                state = (_nextId++, Stopwatch.StartNew(), -Interval, value.Phase);
            }

            var now = state.Clock.Elapsed;
            var due = value.Phase != state.Phase || value.Phase == TransferPhase.Completed || now - state.LastWrite >= Interval;
            if (!due)
            {
                return;
            }

            _models[value.Name] = (state.Id, state.Clock, now, value.Phase);
            record = ToRecord(value, state.Id, now);
            // Queued under the lock: reports from several threads reach the host in the order they were judged, so a
            // model's "Completed" is never overtaken by an earlier update.
            _bridge.Post(() => _cmdlet.WriteProgress(record));
        }
    }

    /// <summary>Updates the parent (batch) activity.</summary>
    public void ReportBatch(int done, int total)
    {
        var record = new ProgressRecord(ParentId, _activity, $"{done} of {total} models")
        {
            PercentComplete = total == 0 ? 100 : (int)(100L * done / total),
            RecordType = done >= total ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
        lock (_gate)
        {
            // Models finish on several threads: a count older than one already shown would reopen a completed bar.
            if (done < _batchDone)
            {
                return;
            }

            _batchDone = done;
            _bridge.Post(() => _cmdlet.WriteProgress(record));
        }
    }

    private static ProgressRecord ToRecord(TransferProgress value, int id, TimeSpan elapsed)
    {
        var activity = value.Phase == TransferPhase.Verifying ? $"Verifying {value.Name}" : $"Saving {value.Name}";
        var record = new ProgressRecord(id, activity, Describe(value, elapsed)) { ParentActivityId = ParentId };
        if (value.TotalBytes is > 0 && value.Phase == TransferPhase.Downloading)
        {
            var held = value.BytesReceived ?? value.BytesDone;
            record.PercentComplete = (int)Math.Min(100, 100 * held / value.TotalBytes.Value);
            var rate = held / Math.Max(elapsed.TotalSeconds, 0.001);
            if (rate > 0)
            {
                record.SecondsRemaining = (int)((value.TotalBytes.Value - held) / rate);
            }
        }

        if (value.Phase == TransferPhase.Completed)
        {
            record.RecordType = ProgressRecordType.Completed;
        }

        return record;
    }

    private static string Describe(TransferProgress value, TimeSpan elapsed)
    {
        switch (value.Phase)
        {
            case TransferPhase.Waiting:
                return "Waiting for another process";
            case TransferPhase.Verifying:
                return "Checking SHA-256 of " + value.Location;
            case TransferPhase.Completed:
                return "Done";
            default:
                // A segmented download: every byte held counts for the rate, and the connections in use are shown.
                var held = value.BytesReceived ?? value.BytesDone;
                var rate = held / Math.Max(elapsed.TotalSeconds, 0.001);
                var total = value.TotalBytes is { } t ? " of " + Bytes(t) : string.Empty;
                var over = value.Connections > 1 ? string.Format(CultureInfo.InvariantCulture, " over {0} connections", value.Connections) : string.Empty;
                return string.Format(CultureInfo.InvariantCulture, "{0}{1} at {2}/s{3} from {4}", Bytes(held), total, Bytes((long)rate), over, value.Location);
        }
    }

    private static string Bytes(long bytes) => ByteSize.Format(bytes);
}
