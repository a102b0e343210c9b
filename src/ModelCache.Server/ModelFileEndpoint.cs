using System;
using System.Globalization;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;

namespace ModelCache.Server;

/// <summary>
/// <c>GET</c>/<c>HEAD /models/&lt;FileName&gt;</c>: a catalog model's verified bytes with validators (ETag is the SHA-256,
/// Last-Modified the file's write time), a single byte range (206 / 416), If-None-Match (304) and If-Range. A stream that
/// fails at its end (an in-flight fetch that did not verify) aborts the response.
/// </summary>
internal sealed class ModelFileEndpoint
{
    private readonly IModelContentSource _source;
    private readonly ModelCacheServerOptions _options;

    public ModelFileEndpoint(IModelContentSource source, ModelCacheServerOptions options)
    {
        _source = source;
        _options = options;
    }

    public async Task ServeAsync(HttpExchange exchange, ModelDefinition model)
    {
        var method = exchange.Request.HttpMethod;
        var head = method == "HEAD";
        ServedContent content;
        try
        {
            content = await _source.OpenAsync(model, 0, exchange.Aborting.Token).ConfigureAwait(false);
        }
        catch (ModelCacheException ex)
        {
            if (ex.ErrorId == "CachedFileNotVerified")
            {
                _options.Warning?.Invoke(ex.Message);
            }

            await exchange.SendErrorAsync(StatusOf(ex), ex, method).ConfigureAwait(false);
            return;
        }

        using (content)
        {
            var etag = "\"" + content.Sha256 + "\"";
            var response = exchange.Response;
            response.Headers["ETag"] = etag;
            response.Headers["Accept-Ranges"] = "bytes";
            response.Headers["Last-Modified"] = content.LastModified.UtcDateTime.ToString("R", CultureInfo.InvariantCulture);
            if (Matches(exchange.Request.Headers["If-None-Match"], etag))
            {
                exchange.Begin(304, 0);
                exchange.Close();
                return;
            }

            var kind = RangeApplies(exchange.Request.Headers["If-Range"], etag, content.LastModified)
                ? RangeHeader.Parse(exchange.Request.Headers["Range"], content.Length, out var range)
                : RangeHeader.Parse(null, content.Length, out range);
            switch (kind)
            {
                case RangeRequestKind.Unsatisfiable:
                    response.Headers["Content-Range"] = "bytes */" + content.Length.ToString(CultureInfo.InvariantCulture);
                    await exchange.SendErrorAsync(416, "RangeNotSatisfiable", $"The file has {content.Length} bytes.", method).ConfigureAwait(false);
                    return;
                case RangeRequestKind.Partial:
                    response.Headers["Content-Range"] = string.Format(CultureInfo.InvariantCulture, "bytes {0}-{1}/{2}", range.Start, range.End, content.Length);
                    exchange.Begin(206, range.Length, "application/octet-stream");
                    break;
                default:
                    range = new ByteRange(0, content.Length - 1);
                    exchange.Begin(200, content.Length, "application/octet-stream");
                    break;
            }

            if (head)
            {
                exchange.Close();
                return;
            }

            var body = content;
            try
            {
                if (range.Start > 0 && content.Content.CanSeek)
                {
                    content.Content.Position = range.Start;
                }
                else if (range.Start > 0)
                {
                    // A stream that cannot seek (an in-flight fetch) is asked for the offset instead.
                    body = await _source.OpenAsync(model, range.Start, exchange.Aborting.Token).ConfigureAwait(false);
                }

                await exchange.CopyAsync(body.Content, kind == RangeRequestKind.Partial ? range.Length : content.Length, _options.IdleTimeout).ConfigureAwait(false);
                if (!body.IsComplete)
                {
                    // An in-flight fetch reports a failed verification at the end of its stream: read it before completing.
                    await body.Content.ReadAsync(new byte[1], 0, 1, exchange.Aborting.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is ModelCacheException or OperationCanceledException or System.IO.IOException or System.Net.HttpListenerException or ObjectDisposedException)
            {
                exchange.Abort();
                if (ex is ModelCacheException failure)
                {
                    _options.Warning?.Invoke($"{model.Name}: response aborted: {failure.Message}");
                }

                return;
            }
            finally
            {
                if (!ReferenceEquals(body, content))
                {
                    body.Dispose();
                }
            }

            exchange.Close();
        }
    }

    internal static int StatusOf(ModelCacheException ex) => ex.ErrorId switch
    {
        "UpstreamFailed" => 502,
        "CachedFileNotVerified" => 500,
        "RequestBodyNotJson" => 415,
        _ => ex.Kind switch
        {
            ModelCacheErrorKind.NotFound => 404,
            ModelCacheErrorKind.InvalidArgument => 400,
            ModelCacheErrorKind.ResourceUnavailable => 503,
            ModelCacheErrorKind.ConnectionError => 502,
            _ => 500,
        },
    };

    private static bool Matches(string? ifNoneMatch, string etag)
    {
        if (ifNoneMatch is null)
        {
            return false;
        }

        foreach (var candidate in ifNoneMatch.Split(','))
        {
            var tag = candidate.Trim();
            // Weak comparison, as If-None-Match asks: W/"x" matches "x".
            if (tag == "*" || tag == etag || (tag.StartsWith("W/", StringComparison.Ordinal) && tag.Substring(2) == etag))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>If-Range: the range applies only while the file is the one the client has (a strong ETag, or the exact date).</summary>
    private static bool RangeApplies(string? ifRange, string etag, DateTimeOffset lastModified)
    {
        if (string.IsNullOrWhiteSpace(ifRange))
        {
            return true;
        }

        var value = ifRange!.Trim();
        if (value.StartsWith("\"", StringComparison.Ordinal) || value.StartsWith("W/", StringComparison.Ordinal))
        {
            return value == etag;
        }

        return DateTimeOffset.TryParseExact(value, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            && date.ToUnixTimeSeconds() == lastModified.ToUnixTimeSeconds();
    }
}
