using System.Threading;

namespace ModelCache.Server;

/// <summary>Counters of one server's requests: by status class, and body bytes sent. Thread-safe.</summary>
public sealed class ServerMetrics
{
    private readonly long[] _byClass = new long[6];
    private long _bytesSent;

    public void Record(int status, long bytesSent)
    {
        var statusClass = status / 100;
        Interlocked.Increment(ref _byClass[statusClass is >= 1 and <= 5 ? statusClass : 5]);
        Interlocked.Add(ref _bytesSent, bytesSent);
    }

    /// <summary>Requests answered with a status of class <paramref name="statusClass"/> (1 to 5).</summary>
    public long Requests(int statusClass) => Interlocked.Read(ref _byClass[statusClass]);

    public long BytesSent => Interlocked.Read(ref _bytesSent);
}
