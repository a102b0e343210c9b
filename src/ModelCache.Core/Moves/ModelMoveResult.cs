namespace ModelCache.Moves;

/// <summary>What a move did with one model.</summary>
public enum ModelMoveStatus
{
    /// <summary>Copied, verified at the destination, and removed from the source.</summary>
    Moved,

    /// <summary>A valid copy was already at the destination (an earlier, interrupted move); nothing was copied, the source copy was removed.</summary>
    AlreadyAtDestination,

    /// <summary>Copied and verified at the destination, but the source copy was kept because another model of the move failed.</summary>
    Copied,

    /// <summary>Not moved (see <see cref="ModelMoveResult.Reason"/>); its source copy is untouched.</summary>
    Failed,
}

/// <summary>One model of a move.</summary>
public sealed class ModelMoveResult
{
    public ModelMoveResult(string name, ModelMoveStatus status, string source, string? destination, long size, long bytes, string? reason)
    {
        Name = name;
        Status = status;
        Source = source;
        Destination = destination;
        Size = size;
        Bytes = bytes;
        Reason = reason;
    }

    public string Name { get; }

    public ModelMoveStatus Status { get; }

    /// <summary>The model's file in the cache it was moved from.</summary>
    public string Source { get; }

    /// <summary>The model's file in the destination cache; null when it is not there.</summary>
    public string? Destination { get; }

    /// <summary>The model file's size.</summary>
    public long Size { get; }

    /// <summary>Bytes copied by this run (0 when the destination already held a valid copy).</summary>
    public long Bytes { get; }

    public string? Reason { get; }

    public override string ToString() => $"{Name}: {Status}";
}
