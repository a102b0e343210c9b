using ModelCache.Errors;

namespace ModelCache.Operations;

/// <summary>
/// What an operation tells its host on the way: a PowerShell cmdlet writes these to its streams, the server to its log.
/// May be called from worker threads; the host marshals.
/// </summary>
public interface IOperationEvents
{
    void Verbose(string message);

    void Warning(string message);

    /// <summary>One item failed and the operation goes on; <paramref name="target"/> is what it was about.</summary>
    void Failed(ModelCacheException error, object? target);
}
