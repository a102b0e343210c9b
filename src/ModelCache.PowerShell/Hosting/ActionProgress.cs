using System;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Calls a delegate on the reporting thread. <see cref="Progress{T}"/> would capture a
/// synchronization context, which a PowerShell pipeline thread does not have.
/// </summary>
internal sealed class ActionProgress<T> : IProgress<T>
{
    private readonly Action<T> _handler;

    public ActionProgress(Action<T> handler) => _handler = handler;

    public void Report(T value) => _handler(value);
}
