using System.Threading;
using System.Threading.Tasks;

namespace ModelCache.Server;

/// <summary>Waiting on tasks that belong to others (a shared fetch) without cancelling them when one request gives up.</summary>
internal static class TaskWaits
{
    /// <summary>Returns when <paramref name="first"/> or <paramref name="second"/> completes, whatever their outcome; throws when <paramref name="cancellationToken"/> fires first.</summary>
    public static async Task WhenAnyAsync(Task first, Task second, CancellationToken cancellationToken)
    {
        var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
        {
            await Task.WhenAny(first, second, cancelled.Task).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }
}
