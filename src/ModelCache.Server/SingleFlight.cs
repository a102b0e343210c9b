using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;

namespace ModelCache.Server;

/// <summary>
/// At most one running fetch per key in this process: the first caller starts it, later callers join it. A fetch leaves
/// the registry when it completes, so the next caller after a failure starts afresh (no negative cache); a failed fetch
/// still listed for the instant before its removal is replaced, never joined.
/// </summary>
internal sealed class SingleFlight
{
    private readonly object _gate = new();
    private readonly Dictionary<string, InFlightFetch> _running;

    public SingleFlight(StringComparer keyComparer)
    {
        _running = new Dictionary<string, InFlightFetch>(keyComparer);
    }

    /// <summary>The running fetch for <paramref name="key"/>, or null.</summary>
    public InFlightFetch? Find(string key)
    {
        lock (_gate)
        {
            return _running.TryGetValue(key, out var fetch) && !fetch.Failed ? fetch : null;
        }
    }

    /// <summary>Joins the running fetch for <paramref name="key"/>, or starts one with <paramref name="start"/> (called under the registry's lock; it must not block).</summary>
    public InFlightFetch GetOrStart(string key, Func<InFlightFetch> start)
    {
        InFlightFetch fetch;
        lock (_gate)
        {
            if (_running.TryGetValue(key, out var running) && !running.Failed)
            {
                return running;
            }

            fetch = start();
            _running[key] = fetch;
        }

        fetch.Completion.ContinueWith(
            done =>
            {
                _ = done.Exception; // observed here: requests that joined rethrow their own copy
                lock (_gate)
                {
                    if (_running.TryGetValue(key, out var listed) && ReferenceEquals(listed, fetch))
                    {
                        _running.Remove(key);
                    }
                }
            },
            TaskScheduler.Default);
        return fetch;
    }

    /// <summary>Every fetch still running or not yet removed.</summary>
    public IReadOnlyList<InFlightFetch> Snapshot()
    {
        lock (_gate)
        {
            return _running.Values.ToList();
        }
    }
}
