using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Transfer;
using Newtonsoft.Json.Linq;

namespace ModelCache.Registry;

/// <summary>The push side of the distribution API: blob existence, uploads (monolithic or chunked) and manifests.</summary>
public sealed partial class OciRegistryClient
{
    /// <summary>An error body is short JSON; more is not read.</summary>
    private const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>A registry's OCI-Chunk-Min-Length above this is not honoured (a chunk is sent from a buffer-less stream, but a huge one defeats resumable steps).</summary>
    private const long MaxChunkBytes = 256L * 1024 * 1024;

    /// <summary>Blobs up to this size go in one PUT; larger ones in PATCH chunks.</summary>
    internal long MonolithicLimit { get; set; } = 32L * 1024 * 1024;

    /// <summary>The size of one PATCH of a chunked upload (the registry may ask for more with OCI-Chunk-Min-Length).</summary>
    internal long ChunkSize { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Whether the repository holds <paramref name="blob"/> (HEAD). A 200 whose Content-Length or Docker-Content-Digest
    /// disagree with the descriptor counts as absent, so the blob is uploaded rather than trusted.
    /// </summary>
    public async Task<bool> HasBlobAsync(OciDescriptor blob, string subject, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(Simple(HttpMethod.Head, BlobUri(blob.Digest)), subject, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        if (status == 404)
        {
            return false;
        }

        if (status != 200)
        {
            throw await PushFailedAsync(response, subject, "answered the check for an existing blob").ConfigureAwait(false);
        }

        var length = response.Content.Headers.ContentLength;
        var digest = DigestHeader(response);
        return (length is null || length == blob.Size) && (digest is null || digest == blob.Digest);
    }

    /// <summary>
    /// Asks the registry to mount <paramref name="blob"/> from another of its repositories (the spec's cross-repository
    /// mount) instead of receiving it again. True only for a 201 that names this digest (or names none); a registry that
    /// opens an upload session instead (202), refuses, or asks for a sign-in the push token does not cover gets false and
    /// the blob is uploaded as usual — a mount only ever saves bytes, it never fails a push.
    /// </summary>
    public async Task<bool> TryMountBlobAsync(OciDescriptor blob, string fromRepository, string subject, CancellationToken cancellationToken)
    {
        var address = new Uri(UploadsUri + "?mount=" + Uri.EscapeDataString(blob.Digest) + "&from=" + Uri.EscapeDataString(fromRepository));
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(_ => new HttpRequestMessage(HttpMethod.Post, address) { Content = Empty() }, subject, cancellationToken).ConfigureAwait(false);
        }
        catch (TransferException)
        {
            // Typically a token scoped to this repository only (the mount also needs pull on the other): upload instead.
            return false;
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (status == 201)
            {
                var digest = DigestHeader(response);
                return digest is null || digest == blob.Digest;
            }

            if (status == 202 && response.Headers.Location is not null)
            {
                // An upload session was opened in place of the mount: cancel it (best effort); the upload opens its own.
                try
                {
                    using var cancel = await SendAsync(_ => new HttpRequestMessage(HttpMethod.Delete, ResolveLocation(response, address, subject)), subject, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is TransferException or ModelCacheException)
                {
                    // The session expires on the registry by itself.
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Uploads <paramref name="blob"/>, whose bytes <paramref name="content"/> holds (read from its start, never loaded
    /// whole): one PUT up to <see cref="MonolithicLimit"/>, else PATCH chunks with Content-Range and a closing PUT with the
    /// digest. The bytes are hashed as they go; a file that does not hash to the descriptor's digest is not committed.
    /// A session that fails is cancelled (DELETE), as the spec asks.
    /// </summary>
    /// <param name="progress">Bytes of this blob sent so far.</param>
    public async Task UploadBlobAsync(OciDescriptor blob, Stream content, string subject, Action<long>? progress, CancellationToken cancellationToken)
    {
        Uri location;
        long minimum = 0;
        using (var started = await SendAsync(_ => new HttpRequestMessage(HttpMethod.Post, UploadsUri) { Content = Empty() }, subject, cancellationToken).ConfigureAwait(false))
        {
            if ((int)started.StatusCode != 202)
            {
                throw await PushFailedAsync(started, subject, "refused to start an upload").ConfigureAwait(false);
            }

            location = ResolveLocation(started, UploadsUri, subject);
            if (started.Headers.TryGetValues("OCI-Chunk-Min-Length", out var values)
                && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                minimum = parsed;
            }
        }

        var committed = false;
        using var hash = new RunningHash();
        try
        {
            HttpResponseMessage closed;
            if (blob.Size <= MonolithicLimit)
            {
                closed = await SendAsync(rearm => new HttpRequestMessage(HttpMethod.Put, WithDigest(location, blob.Digest))
                {
                    Content = new UploadContent(content, 0, blob.Size, hash, rearm, progress),
                }, subject, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var chunk = Math.Min(Math.Max(ChunkSize, minimum), MaxChunkBytes);
                for (long offset = 0; offset < blob.Size;)
                {
                    var length = Math.Min(chunk, blob.Size - offset);
                    var from = offset;
                    using var patched = await SendAsync(rearm =>
                    {
                        var request = new HttpRequestMessage(new HttpMethod("PATCH"), location) { Content = new UploadContent(content, from, length, hash, rearm, progress) };
                        // The spec's Content-Range for a chunk is the bare "<start>-<end>" (inclusive), not HTTP's "bytes …/total".
                        request.Content.Headers.TryAddWithoutValidation("Content-Range", from.ToString(CultureInfo.InvariantCulture) + "-" + (from + length - 1).ToString(CultureInfo.InvariantCulture));
                        return request;
                    }, subject, cancellationToken).ConfigureAwait(false);
                    if ((int)patched.StatusCode != 202)
                    {
                        throw await PushFailedAsync(patched, subject, $"refused the upload of bytes {from} to {from + length - 1}").ConfigureAwait(false);
                    }

                    if (patched.Headers.TryGetValues("Range", out var ranges) && ranges.FirstOrDefault() is { } range
                        && range != "0-" + (from + length - 1).ToString(CultureInfo.InvariantCulture))
                    {
                        throw Protocol(subject, $"acknowledged the upload of bytes {from} to {from + length - 1} with the range '{Shorten(range)}'");
                    }

                    location = ResolveLocation(patched, location, subject);
                    offset += length;
                }

                if (hash.Sha256() != blob.Sha256)
                {
                    throw Corrupt(subject, hash.Sha256(), blob);
                }

                closed = await SendAsync(_ => new HttpRequestMessage(HttpMethod.Put, WithDigest(location, blob.Digest)) { Content = Empty() }, subject, cancellationToken).ConfigureAwait(false);
            }

            using (closed)
            {
                if ((int)closed.StatusCode != 201)
                {
                    if (hash.HashedUpTo == blob.Size && hash.Sha256() is var sent && sent != blob.Sha256)
                    {
                        throw Corrupt(subject, sent, blob);
                    }

                    throw await PushFailedAsync(closed, subject, "refused to complete the upload").ConfigureAwait(false);
                }

                committed = true;
                if (DigestHeader(closed) is { } stored && stored != blob.Digest)
                {
                    throw Protocol(subject, $"stored the upload as {stored}, not {blob.Digest}");
                }
            }
        }
        finally
        {
            if (!committed)
            {
                await CancelUploadAsync(location).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The digest the repository's tag (or digest) names now (HEAD), or null when it names nothing.</summary>
    public async Task<string?> ManifestDigestAsync(string reference, string subject, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(Simple(HttpMethod.Head, ManifestUri(reference), OciMediaTypes.ImageManifest), subject, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        if (status == 404)
        {
            return null;
        }

        if (status != 200)
        {
            throw await PushFailedAsync(response, subject, "answered the check for the existing tag").ConfigureAwait(false);
        }

        return DigestHeader(response);
    }

    /// <summary>
    /// PUTs the manifest under <paramref name="reference"/> (a tag). Returns false when the registry answers
    /// MANIFEST_BLOB_UNKNOWN: a blob it said it had is missing after all, and the caller uploads and tries again.
    /// </summary>
    public async Task<bool> PutManifestAsync(byte[] manifest, string reference, string subject, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(_ =>
        {
            var content = new ByteArrayContent(manifest);
            content.Headers.ContentType = new MediaTypeHeaderValue(OciMediaTypes.ImageManifest);
            return new HttpRequestMessage(HttpMethod.Put, ManifestUri(reference)) { Content = content };
        }, subject, cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode == 201)
        {
            var expected = OciManifest.DigestOf(manifest);
            if (DigestHeader(response) is { } stored && stored != expected)
            {
                throw Protocol(subject, $"stored the manifest as {stored}, not {expected}");
            }

            return true;
        }

        var (codes, detail) = await ErrorBodyAsync(response, cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode == 400 && codes.Contains("MANIFEST_BLOB_UNKNOWN"))
        {
            return false;
        }

        throw PushFailed(response, subject, "refused the manifest", detail);
    }

    /// <summary>Ends an upload session that will not complete; failures are ignored, as the spec asks.</summary>
    private async Task CancelUploadAsync(Uri location)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_timeout);
            using var response = await SendAsync(_ => new HttpRequestMessage(HttpMethod.Delete, location), "the cancelled upload", timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ModelCacheException or OperationCanceledException or HttpRequestException or IOException)
        {
            // The registry times the session out by itself.
        }
    }

    private static Uri WithDigest(Uri location, string digest)
    {
        var builder = new UriBuilder(location);
        var query = builder.Query.TrimStart('?');
        builder.Query = (query.Length > 0 ? query + "&" : string.Empty) + "digest=" + Uri.EscapeDataString(digest);
        return builder.Uri;
    }

    private static ByteArrayContent Empty()
    {
        var content = new ByteArrayContent(Array.Empty<byte>());
        content.Headers.ContentLength = 0;
        return content;
    }

    private static string? DigestHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { } value ? value.Trim() : null;

    private async Task<TransferException> PushFailedAsync(HttpResponseMessage response, string subject, string what)
    {
        var (_, detail) = await ErrorBodyAsync(response, CancellationToken.None).ConfigureAwait(false);
        return PushFailed(response, subject, what, detail);
    }

    private TransferException PushFailed(HttpResponseMessage response, string subject, string what, string? detail)
    {
        var status = (int)response.StatusCode;
        var message = $"The registry {Registry} {what} for {subject} (HTTP {status}{(detail is null ? string.Empty : ": " + detail)}).";
        return status is 408 or 429 or >= 500
            ? TransferException.Transient("RegistryPushFailed", message, "Try again later; the registry is busy or failing.")
            : TransferException.Permanent("RegistryPushFailed", ModelCacheErrorKind.ConnectionError, message,
                $"Check the reference and that the account may push to {Registry.Repository} (-Credential, or a Docker-style config.json); the registry's own words are in the message.");
    }

    /// <summary>The distribution spec's error body: its codes, and the first code and message for people (bounded, control characters removed).</summary>
    private async Task<(string[] Codes, string? Detail)> ErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content is null || response.Content.Headers.ContentLength is > MaxErrorBodyBytes)
        {
            return (Array.Empty<string>(), null);
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            var buffer = new byte[MaxErrorBodyBytes + 1];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await stream.ReadAsync(buffer, total, buffer.Length - total, timeout.Token).ConfigureAwait(false)) > 0)
            {
                total += read;
            }

            if (total > MaxErrorBodyBytes)
            {
                return (Array.Empty<string>(), null);
            }

            var errors = JObject.Parse(Encoding.UTF8.GetString(buffer, 0, total))["errors"] as JArray;
            var codes = errors?.OfType<JObject>().Select(e => (e["code"] as JValue)?.Value as string).Where(c => c is not null).Cast<string>().ToArray() ?? Array.Empty<string>();
            var first = errors?.OfType<JObject>().FirstOrDefault();
            var detail = first is null ? null : Shorten(((first["code"] as JValue)?.Value as string) + " " + ((first["message"] as JValue)?.Value as string)).Trim();
            return (codes, string.IsNullOrEmpty(detail) ? null : detail);
        }
        catch (Exception ex) when (ex is Newtonsoft.Json.JsonException or IOException or HttpRequestException or OperationCanceledException or InvalidCastException)
        {
            return (Array.Empty<string>(), null);
        }
    }

    private TransferException Corrupt(string subject, string actual, OciDescriptor blob) =>
        TransferException.Permanent("HashMismatch", ModelCacheErrorKind.InvalidData,
            $"{subject}: the cached file hashes to {actual}, expected {blob.Sha256}; it was not pushed to {Registry}.",
            $"Run 'Save-Model {subject} -Force' to repair it, or leave it out with -Name.");

    private static string Shorten(string? text) => Bundles.BundleManifestReader.Shorten(text);

    /// <summary>SHA-256 of an upload's bytes in order; a resent range (after a 401) is not hashed twice.</summary>
    private sealed class RunningHash : IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _hashedUpTo;
        private string? _result;

        /// <summary>How many bytes from the start have been hashed.</summary>
        public long HashedUpTo => _hashedUpTo;

        public void Add(long position, byte[] buffer, int count)
        {
            var skip = (int)Math.Min(Math.Max(_hashedUpTo - position, 0), count);
            if (skip < count && position + skip == _hashedUpTo)
            {
                _hash.AppendData(buffer, skip, count - skip);
                _hashedUpTo += count - skip;
            }
        }

        public string Sha256() => _result ??= Sha256Hasher.ToHex(_hash.GetHashAndReset());

        public void Dispose() => _hash.Dispose();
    }

    /// <summary>
    /// A range of the blob's stream as a request body, copied (never buffered whole) when the request is sent: each
    /// write re-arms the stall timeout and reports progress. A file shorter than it was fails the request.
    /// </summary>
    private sealed class UploadContent : HttpContent
    {
        private readonly Stream _source;
        private readonly long _start;
        private readonly long _length;
        private readonly RunningHash _hash;
        private readonly Action _rearm;
        private readonly Action<long>? _progress;

        public UploadContent(Stream source, long start, long length, RunningHash hash, Action rearm, Action<long>? progress)
        {
            _source = source;
            _start = start;
            _length = length;
            _hash = hash;
            _rearm = rearm;
            _progress = progress;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            Headers.ContentLength = length;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            _source.Position = _start;
            var buffer = new byte[Sha256Hasher.BufferSize];
            long sent = 0;
            while (sent < _length)
            {
                var read = await _source.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, _length - sent)).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"The file ended after {_start + sent} bytes while it was being pushed; it changed while it was read.");
                }

                _hash.Add(_start + sent, buffer, read);
                await stream.WriteAsync(buffer, 0, read).ConfigureAwait(false);
                sent += read;
                _rearm();
                _progress?.Invoke(_start + sent);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
