using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace ModelCache.Core.Tests.Server;

internal static class StreamReading
{
    /// <summary>Exactly <paramref name="count"/> bytes; fails if the stream ends first.</summary>
    public static async Task<byte[]> ReadExactlyAsync(Stream stream, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            var read = await stream.ReadAsync(buffer, filled, count - filled, cancellationToken);
            Assert.NotEqual(0, read);
            filled += read;
        }

        return buffer;
    }

    public static async Task<byte[]> ReadToEndAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, 81920, cancellationToken);
        return copy.ToArray();
    }
}
