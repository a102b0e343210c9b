using System;
using System.Collections.Concurrent;
using System.Net.Sockets;

namespace ModelCache.Transfer;

/// <summary>
/// A circuit breaker for one batch (one <see cref="SourcePlanner"/>): a host that refuses connections (or resets them
/// before answering, or cannot be resolved) is marked down at its first failure and skipped for every later model,
/// instead of costing each model its retries and backoff. Keyed by scheme, host and port.
/// </summary>
internal sealed class SourceHealth
{
    private readonly ConcurrentDictionary<string, string> _down = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Why <paramref name="address"/>'s host was marked down, or null when it was not.</summary>
    public string? DownReason(Uri address) => _down.TryGetValue(Key(address), out var reason) ? reason : null;

    public void MarkDown(Uri address, string reason) => _down.TryAdd(Key(address), reason);

    /// <summary>
    /// True for failures before any HTTP answer at the socket level: refused, reset, broken pipe, closed before the
    /// status line, unresolvable or unreachable host (the error seen varies with timing, so any socket or I/O failure
    /// counts). A TLS failure is not one: the host answered, and its message says more than "skipped".
    /// </summary>
    public static bool IsRefusal(Exception exception)
    {
        var socketLevel = false;
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is System.Security.Authentication.AuthenticationException)
            {
                return false;
            }

            socketLevel |= current is SocketException or System.IO.IOException;
        }

        return socketLevel;
    }

    private static string Key(Uri address) => address.Scheme + "://" + address.Host + ":" + address.Port;
}
