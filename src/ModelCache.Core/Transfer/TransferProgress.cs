namespace ModelCache.Transfer;

public enum TransferPhase
{
    Waiting,
    Verifying,
    Downloading,
    Completed,
}

/// <summary>A progress report for one model.</summary>
public sealed class TransferProgress
{
    public TransferProgress(string name, TransferPhase phase, long bytesDone, long? totalBytes, string? location)
    {
        Name = name;
        Phase = phase;
        BytesDone = bytesDone;
        TotalBytes = totalBytes;
        Location = location;
    }

    public string Name { get; }

    public TransferPhase Phase { get; }

    public long BytesDone { get; }

    public long? TotalBytes { get; }

    /// <summary>The URL or path being read, without credentials.</summary>
    public string? Location { get; }

    /// <summary>
    /// A segmented download: all bytes held so far, in any order (<see cref="BytesDone"/> is then the complete prefix,
    /// what may be read from the start of the partial file). Null for a download over one connection.
    /// </summary>
    public long? BytesReceived { get; set; }

    /// <summary>Connections in use by a segmented download; 0 otherwise.</summary>
    public int Connections { get; set; }
}
