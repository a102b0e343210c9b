using System.Collections.Generic;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Hands back results that complete in any order in the order of their inputs, each as soon as every earlier one is
/// in, so a script can zip inputs with outputs while the work runs in parallel. Used on the pipeline thread only.
/// </summary>
internal sealed class InputOrder<T>
{
    private readonly Dictionary<int, T> _waiting = new();
    private int _next;

    /// <summary>Records the result of input <paramref name="index"/> and returns those now due, in input order.</summary>
    public IReadOnlyList<T> Complete(int index, T result)
    {
        _waiting[index] = result;
        var due = new List<T>();
        while (_waiting.TryGetValue(_next, out var next))
        {
            _waiting.Remove(_next++);
            due.Add(next);
        }

        return due;
    }
}
