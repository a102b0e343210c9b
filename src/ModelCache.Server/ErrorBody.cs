using System;
using System.Text.RegularExpressions;
using ModelCache.Errors;
using ModelCache.Transfer;

namespace ModelCache.Server;

/// <summary>
/// What the server tells a client about a failure: <c>{errorId, message, retryable}</c>, with no local path in it. The
/// admin's log keeps the full story; a client, who may be anyone on the network, gets the id, a message and whether
/// asking again may help.
/// </summary>
internal static class ErrorBody
{
    /// <summary>A quoted path (<c>'/srv/x'</c>, <c>'C:\x'</c>, <c>'\\host\share'</c>), a <c>file:</c> URL, or a bare absolute path of two or more parts.</summary>
    private static readonly Regex LocalPath = new(
        @"'(?:[A-Za-z]:[\\/]|\\\\|/|~[\\/]|file:)[^']*'|\bfile:[^\s'""]*|(?<![\w.:/\\-])(?:[A-Za-z]:[\\/]|\\\\)[^\s'""]*|(?<![\w.:/-])/[\w.-]+(?:/[\w.-]+)+/?",
        RegexOptions.CultureInvariant);

    public const string Redacted = "<local path>";

    /// <summary>The body of an error response.</summary>
    public static object Create(string errorId, string message, bool retryable) => new { errorId, message = RedactLocalPaths(message), retryable };

    /// <summary>
    /// <paramref name="text"/> with every local path replaced: the last line of defence for messages written for a local
    /// user (which name files on purpose) that reach a client.
    /// </summary>
    public static string RedactLocalPaths(string text) => LocalPath.Replace(text, m => m.Value.StartsWith("'", StringComparison.Ordinal) ? "'" + Redacted + "'" : Redacted);

    /// <summary>Whether the same request may succeed later: a transient upstream failure, a file that changed while opened, a stop.</summary>
    public static bool IsRetryable(ModelCacheException failure)
    {
        if (failure.ErrorId is "CachedFileChanged" or "PullThroughStopped" or "UpstreamRestarted")
        {
            return true;
        }

        for (Exception? cause = failure; cause is not null; cause = cause.InnerException)
        {
            if (cause is TransferException { IsTransient: true })
            {
                return true;
            }
        }

        return false;
    }
}
