using System;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Transfer;

/// <summary>
/// The body a ModelCache server (or any server speaking the same shape) sends with an error:
/// <c>{"errorId": "...", "message": "...", "retryable": true|false}</c>.
/// </summary>
internal sealed class ServerErrorBody
{
    /// <summary>Error bodies are short; anything longer is not one (and is not read).</summary>
    private const int MaxBytes = 64 * 1024;

    private ServerErrorBody(string errorId, string message, bool retryable)
    {
        ErrorId = errorId;
        Message = message;
        Retryable = retryable;
    }

    public string ErrorId { get; }

    public string Message { get; }

    public bool Retryable { get; }

    /// <summary>The response's error body when it is one (JSON with a string errorId and message); null otherwise or when it does not arrive in time.</summary>
    public static async Task<ServerErrorBody?> ReadAsync(HttpResponseMessage response, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var content = response.Content;
        if (content?.Headers.ContentType?.MediaType is not "application/json" || content.Headers.ContentLength is not { } length || length > MaxBytes)
        {
            return null;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            using var stream = await content.ReadAsStreamAsync().ConfigureAwait(false);
            var buffer = new byte[length];
            var read = 0;
            int got;
            while (read < buffer.Length && (got = await stream.ReadAsync(buffer, read, buffer.Length - read, timer.Token).ConfigureAwait(false)) > 0)
            {
                read += got;
            }

            var body = JObject.Parse(Encoding.UTF8.GetString(buffer, 0, read));
            if (body["errorId"] is JValue { Type: JTokenType.String } id && body["message"] is JValue { Type: JTokenType.String } message)
            {
                var retryable = body["retryable"] is JValue { Type: JTokenType.Boolean } flag && (bool)flag;
                return new ServerErrorBody(Printable((string)id!, 100), Printable((string)message!, 1000), retryable);
            }
        }
        catch (Exception ex) when (ex is JsonException or IOException or HttpRequestException or OperationCanceledException or InvalidCastException)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        return null;
    }

    /// <summary>A server's text as shown in an error: control characters dropped (no terminal escapes), bounded.</summary>
    private static string Printable(string text, int max)
    {
        var shown = new StringBuilder(Math.Min(text.Length, max));
        foreach (var c in text)
        {
            if (shown.Length == max)
            {
                shown.Append('…');
                break;
            }

            shown.Append(char.IsControl(c) ? ' ' : c);
        }

        return shown.ToString();
    }
}
