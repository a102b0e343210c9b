using System;

namespace ModelCache.Primitives;

/// <summary>
/// Calls a delegate on the reporting thread, synchronously. <see cref="Progress{T}"/> would capture a
/// synchronization context (a PowerShell pipeline thread has none) and post reports, so running totals could
/// arrive out of order.
/// </summary>
public sealed class ActionProgress<T> : IProgress<T>
{
    private readonly Action<T> _handler;

    public ActionProgress(Action<T> handler) => _handler = handler;

    public void Report(T value) => _handler(value);
}
