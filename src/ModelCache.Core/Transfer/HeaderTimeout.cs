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
    /// <param name="unreachable">The error for a connection failure.</param>
    /// <param name="timedOut">The error for headers that did not come in time.</param>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpRequestMessage request, TimeSpan timeout,
        Func<HttpRequestException, Exception> unreachable, Func<OperationCanceledException, Exception> timedOut, CancellationToken cancellationToken)
    {
        using var headersTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        headersTimeout.CancelAfter(timeout);
        try
        {
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headersTimeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw unreachable(ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw timedOut(ex);
        }
    }
}
