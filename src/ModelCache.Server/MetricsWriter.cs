using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using ModelCache.Store;

namespace ModelCache.Server;

/// <summary>
/// The Prometheus text exposition format, version 0.0.4: one <c># HELP</c> and <c># TYPE</c> per metric family, label
/// values escaped (backslash, double quote, newline), help text escaped (backslash, newline), numbers invariant.
/// </summary>
public static class MetricsWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Write(CacheSummary summary, ServerMetrics requests, IUpstreamStats? upstream, DateTimeOffset now)
    {
        var text = new StringBuilder();
        Family(text, "modelcache_entries", "gauge", "Cached model files, by task.",
            summary.ByTask.Select(t => (Labels("task", t.Key), (double)t.Value)));
        Family(text, "modelcache_entry_bytes", "gauge", "Bytes of cached model files, by task.",
            summary.BytesByTask.Select(t => (Labels("task", t.Key), (double)t.Value)));
        Single(text, "modelcache_cache_bytes", "gauge", "Bytes the cache takes on disk: model files, orphans and partial downloads.", summary.TotalBytes);
        Single(text, "modelcache_health", "gauge", "Cache health: 0 Good, 1 Large, 2 Cluttered, 3 Corrupt.", (int)summary.Health);
        Single(text, "modelcache_partial_downloads", "gauge", "Partial downloads in the cache.", summary.PartialCount);
        Single(text, "modelcache_partial_bytes", "gauge", "Bytes of partial downloads in the cache.", summary.PartialBytes);
        Single(text, "modelcache_never_verified_entries", "gauge", "Entries never hashed since they were recorded.", summary.NeverVerified);
        if (summary.OldestVerification is { } oldest)
        {
            // Absent rather than 0 when nothing was ever verified: 0 would read as "just verified".
            Single(text, "modelcache_oldest_verification_age_seconds", "gauge", "Seconds since the least recently verified entry was last hashed.",
                Math.Max(0, (now - oldest).TotalSeconds));
        }

        Family(text, "modelcache_http_requests_total", "counter", "Requests answered, by status class.",
            Enumerable.Range(1, 5).Select(c => (Labels("code", c.ToString(CultureInfo.InvariantCulture) + "xx"), (double)requests.Requests(c))));
        Single(text, "modelcache_http_response_bytes_total", "counter", "Response body bytes sent.", requests.BytesSent);
        Single(text, "modelcache_upstream_fetches_total", "counter", "Model fetches from upstream (pull-through).", upstream?.Fetches ?? 0);
        Single(text, "modelcache_upstream_failures_total", "counter", "Model fetches from upstream that failed.", upstream?.Failures ?? 0);
        return text.ToString();
    }

    private static void Single(StringBuilder text, string name, string type, string help, double value) =>
        Family(text, name, type, help, new[] { (string.Empty, value) });

    private static void Family(StringBuilder text, string name, string type, string help, IEnumerable<(string Labels, double Value)> samples)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach (var (labels, value) in samples)
        {
            text.Append(name).Append(labels).Append(' ').Append(Number(value)).Append('\n');
        }
    }

    private static string Labels(string name, string value) => "{" + name + "=\"" + EscapeLabel(value) + "\"}";

    internal static string EscapeLabel(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static string EscapeHelp(string help) => help.Replace("\\", "\\\\").Replace("\n", "\\n");

    private static string Number(double value) =>
        double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : value.ToString("R", CultureInfo.InvariantCulture);
}
