using System;
using System.Net.Http;
using ModelCache.Errors;

namespace ModelCache.Transfer;

/// <summary>
/// Redirects are followed by hand (so credentials stay with the host they belong to), under one rule for every
/// HTTP client here: only to http(s), never from https to http, and at most <see cref="MaxRedirects"/> hops.
/// </summary>
internal static class RedirectPolicy
{
    public const int MaxRedirects = 10;

    public static bool IsRedirect(HttpResponseMessage response) => (int)response.StatusCode is 301 or 302 or 303 or 307 or 308;

    /// <summary>Where a redirect from <paramref name="address"/> leads, or the error that refuses it.</summary>
    /// <param name="start">The first address asked, for the message.</param>
    /// <param name="redirects">Hops already followed.</param>
    /// <param name="subject">What was being fetched, for the message.</param>
    /// <param name="fix">What to do when the redirect is refused.</param>
    public static Uri Next(Uri start, Uri address, Uri location, int redirects, string subject, string fix)
    {
        var next = location.IsAbsoluteUri ? location : new Uri(address, location);
        if (next.Scheme != Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttp)
        {
            // file://, ftp://, data:, … : never followed (a file:// target would read the local disk). The source fails; the next one is tried.
            throw TransferException.Permanent("UnsupportedRedirect", ModelCacheErrorKind.SecurityError,
                $"{HttpSource.Redact(address)} redirected {subject} to a {next.Scheme}: address ({Shown(next)}); only http and https redirects are followed, so the redirect was refused.",
                fix + " (it must redirect to https).");
        }

        if (address.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps)
        {
            throw TransferException.Permanent("InsecureRedirect", ModelCacheErrorKind.PermissionDenied,
                $"{HttpSource.Redact(address)} redirected {subject} to the unencrypted {HttpSource.Redact(next)}; the redirect was refused.",
                fix + " (it must redirect to https).");
        }

        if (redirects >= MaxRedirects)
        {
            throw TransferException.Permanent("TooManyRedirects", ModelCacheErrorKind.ConnectionError,
                $"{HttpSource.Redact(start)} redirected more than {MaxRedirects} times for {subject}.", fix + ".");
        }

        return next;
    }

    /// <summary>Scheme and host (or, for file:, the path) without credentials or query.</summary>
    private static string Shown(Uri uri) => uri.IsFile || string.IsNullOrEmpty(uri.Host) ? uri.Scheme + ":" + uri.AbsolutePath : HttpSource.Redact(uri);
}
