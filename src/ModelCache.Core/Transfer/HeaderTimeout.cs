using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace ModelCache.Transfer;

/// <summary>
/// Sends a request and waits for its response headers at most a given time: HttpClient's own timeout would also
/// cut long bodies, which are bounded per read instead (<see cref="HashingCopier"/>).
/// </summary>
internal static class HeaderTimeout
{
    /// <param name="unreachable">The error for a connection failure (HttpRequestException, or a bare SocketException or IOException).</param>
    /// <param name="timedOut">The error for headers that did not come in time.</param>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpRequestMessage request, TimeSpan timeout,
        Func<Exception, Exception> unreachable, Func<OperationCanceledException, Exception> timedOut, CancellationToken cancellationToken)
    {
        using var headersTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        headersTimeout.CancelAfter(timeout);
        try
        {
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headersTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Net.Sockets.SocketException or System.IO.IOException)
        {
            // A connection reset while it is being set up can surface as a bare SocketException from inside
            // HttpClient (seen with .NET 10 on Linux): it is a connection failure like any other, never a raw error.
            throw unreachable(ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw timedOut(ex);
        }
    }
}
