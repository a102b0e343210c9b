using System;
using System.Collections.Concurrent;
using System.Threading.Tasks;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Lets async Core work report back to PowerShell. Workers post actions; the pipeline thread runs
/// them until the work completes, because PowerShell's streams may only be written from that thread.
/// </summary>
internal sealed class PipelineBridge
{
    private readonly BlockingCollection<Action> _queue = new();

    /// <summary>Queues <paramref name="action"/> to run on the pipeline thread. Safe from any thread.</summary>
    public void Post(Action action)
    {
        try
        {
            _queue.Add(action);
        }
        catch (InvalidOperationException)
        {
            // The work already finished; late reports (e.g. throttled progress) are dropped.
        }
    }

    /// <summary>Runs posted actions on the calling (pipeline) thread until <paramref name="work"/> ends, then returns its result.</summary>
    public T Run<T>(Task<T> work)
    {
        work.ContinueWith(_ => _queue.CompleteAdding(), TaskScheduler.Default);
        foreach (var action in _queue.GetConsumingEnumerable())
        {
            action();
        }

        return work.GetAwaiter().GetResult();
    }
}
