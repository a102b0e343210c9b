using System;
using System.IO;
using ModelCache.Errors;

namespace ModelCache.Bundles;

/// <summary>
/// Reads at most <c>limit</c> bytes and fails on the first byte beyond it, so an archive entry whose declared
/// size lies (or that inflates without end) cannot write more than the manifest promised.
/// </summary>
internal sealed class BoundedReadStream : Stream
{
    private readonly Stream _inner;
    private readonly long _limit;
    private readonly string _what;
    private long _read;

    public BoundedReadStream(Stream inner, long limit, string what)
    {
        _inner = inner;
        _limit = limit;
        _what = what;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _limit;

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        // Ask for one byte more than allowed, so an overlong entry is caught here rather than truncated silently.
        var allowed = (int)Math.Min(count, _limit - _read + 1);
        int read;
        try
        {
            read = _inner.Read(buffer, offset, Math.Max(allowed, 1));
        }
        catch (ICSharpCode.SharpZipLib.SharpZipBaseException ex)
        {
            throw new ModelCacheException("BundleEntryCorrupt", ModelCacheErrorKind.InvalidData, $"{_what} cannot be read: {ex.Message}; nothing was imported from it.",
                "The bundle is damaged or crafted: export it again from a trusted cache.", ex);
        }

        _read += read;
        if (_read > _limit)
        {
            throw new ModelCacheException("BundleEntryTooLong", ModelCacheErrorKind.InvalidData,
                $"{_what} holds more than the {_limit} bytes its manifest says; nothing was imported from it.",
                "The bundle is damaged or crafted: export it again from a trusted cache.");
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
