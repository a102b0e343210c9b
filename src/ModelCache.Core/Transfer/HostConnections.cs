using System;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace ModelCache.Transfer;

/// <summary>
/// One connection budget per host for a batch (all transfers made with one <see cref="NetworkOptions"/>: a -ThrottleLimit
/// run, or a site server's pull-throughs): the segments of one model and the models downloading at once share it. Each
/// transfer's first connection is always granted (a model never waits for another's segments); extra connections only
/// while the host is under its limit. A host that answers an extra connection with 429/503 or a reset has its limit
/// lowered; each <see cref="NetworkOptions.ConnectionRecovery"/> without another refusal gives one connection back, so a
/// long-lived batch (the site server) is not capped for good by one busy moment upstream.
/// </summary>
internal sealed class HostConnections
{
    /// <summary>Connections per host when neither -ConnectionsPerHost nor MODELCACHE_CONNECTIONS_PER_HOST says.</summary>
    public const int DefaultPerHost = 8;

    /// <summary>A lowered limit gets one connection back after this long without another refusal.</summary>
    public static readonly TimeSpan DefaultRecovery = TimeSpan.FromMinutes(1);

    private static readonly ConditionalWeakTable<NetworkOptions, HostConnections> Batches = new();
    private readonly ConcurrentDictionary<string, Host> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly int _limit;
    private readonly TimeSpan _recovery;

    private HostConnections(int limit, TimeSpan recovery)
    {
        _limit = limit;
        _recovery = recovery;
    }

    public static HostConnections For(NetworkOptions network) =>
        Batches.GetValue(network, n => new HostConnections(n.ConnectionsPerHost > 0 ? n.ConnectionsPerHost : DefaultPerHost, n.ConnectionRecovery));

    /// <summary>The most connections a transfer may open to one host (the budget before any back-off).</summary>
    public int Limit => _limit;

    /// <summary>The host's current limit (lowered by back-offs).</summary>
    public int LimitOf(string host)
    {
        var entry = Get(host);
        lock (entry)
        {
            return entry.Current(_limit, _recovery);
        }
    }

    /// <summary>The transfer's first connection: always granted, counted against the budget.</summary>
    public IDisposable First(string host)
    {
        var entry = Get(host);
        lock (entry)
        {
            entry.InUse++;
        }

        return new Lease(entry);
    }

    /// <summary>An extra connection, or null when the host is at its limit.</summary>
    public IDisposable? TryExtra(string host)
    {
        var entry = Get(host);
        lock (entry)
        {
            if (entry.InUse >= entry.Current(_limit, _recovery))
            {
                return null;
            }

            entry.InUse++;
        }

        return new Lease(entry);
    }

    /// <summary>The host refused an extra connection: one fewer from now on (never below one). Returns the new limit.</summary>
    public int BackOff(string host)
    {
        var entry = Get(host);
        lock (entry)
        {
            entry.Limit = Math.Max(1, Math.Min(entry.Current(_limit, _recovery), entry.InUse) - 1);
            entry.Since.Restart();
            return entry.Limit;
        }
    }

    private Host Get(string host) => _hosts.GetOrAdd(host, _ => new Host(_limit));

    private sealed class Host
    {
        public Host(int limit)
        {
            Limit = limit;
        }

        public int Limit { get; set; }

        public int InUse { get; set; }

        /// <summary>Since the last refusal, or the last connection given back.</summary>
        public System.Diagnostics.Stopwatch Since { get; } = System.Diagnostics.Stopwatch.StartNew();

        /// <summary>The limit now: one connection back for each <paramref name="recovery"/> since the last refusal, up to <paramref name="full"/>. Under the lock.</summary>
        public int Current(int full, TimeSpan recovery)
        {
            if (Limit < full && Since.Elapsed >= recovery)
            {
                var back = recovery > TimeSpan.Zero ? Since.Elapsed.Ticks / recovery.Ticks : full;
                Limit = (int)Math.Min(full, Limit + back);
                Since.Restart();
            }

            return Limit;
        }
    }

    private sealed class Lease : IDisposable
    {
        private Host? _host;

        public Lease(Host host)
        {
            _host = host;
        }

        public void Dispose()
        {
            var host = System.Threading.Interlocked.Exchange(ref _host, null);
            if (host is not null)
            {
                lock (host)
                {
                    host.InUse--;
                }
            }
        }
    }
}
