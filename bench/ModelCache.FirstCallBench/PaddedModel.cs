using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace ModelCache.FirstCallBench;

/// <summary>
/// Makes a big model from a small one by adding one unused FLOAT initializer to its graph, writing the
/// protobuf by hand: ModelProto field 7 (graph, length-delimited) is re-encoded with its new length and
/// one more GraphProto field 5 (initializer, a TensorProto: dims = 1, data_type = 2, name = 8,
/// raw_data = 9) at its end; every other byte is copied as it is. Detection is unchanged (no node reads
/// the tensor), but ONNX Runtime parses the whole file and the store hashes every byte of it.
/// </summary>
internal static class PaddedModel
{
    public const string InitializerName = "modelcache_bench_padding";

    private const int GraphField = 7;
    private const int InitializerField = 5;

    /// <summary>Writes <paramref name="target"/> and returns its SHA-256 (lower-case hex) and size.</summary>
    public static (string Sha256, long Size) Write(string source, string target, long paddingBytes, int seed)
    {
        if (paddingBytes <= 0 || paddingBytes % 4 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(paddingBytes), "The padding is a whole number of floats.");
        }

        var model = File.ReadAllBytes(source);
        var fields = TopLevelFields(model);
        var graphs = fields.FindAll(f => f.Number == GraphField && f.WireType == 2);
        if (graphs.Count != 1)
        {
            throw new InvalidDataException($"{source}: expected one graph field (ModelProto field 7), found {graphs.Count}.");
        }

        // TensorProto of the padding, without its raw bytes.
        var header = new MemoryStream();
        WriteTag(header, 1, 0);
        WriteVarint(header, (ulong)(paddingBytes / 4)); // dims: one dimension
        WriteTag(header, 2, 0);
        WriteVarint(header, 1); // data_type FLOAT
        var name = Encoding.UTF8.GetBytes(InitializerName);
        WriteTag(header, 8, 2);
        WriteVarint(header, (ulong)name.Length);
        header.Write(name);
        WriteTag(header, 9, 2);
        WriteVarint(header, (ulong)paddingBytes); // raw_data follows
        var tensorLength = header.Length + paddingBytes;

        var initializer = new MemoryStream();
        WriteTag(initializer, InitializerField, 2);
        WriteVarint(initializer, (ulong)tensorLength);
        var graph = graphs[0];
        var graphLength = graph.ContentLength + initializer.Length + header.Length + paddingBytes;

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        using (var stream = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        {
            void Write(ReadOnlySpan<byte> bytes)
            {
                stream.Write(bytes);
                hash.AppendData(bytes);
                size += bytes.Length;
            }

            foreach (var field in fields)
            {
                if (field != graph)
                {
                    Write(model.AsSpan(field.Start, field.End - field.Start));
                    continue;
                }

                var tag = new MemoryStream();
                WriteTag(tag, GraphField, 2);
                WriteVarint(tag, (ulong)graphLength);
                Write(tag.ToArray());
                Write(model.AsSpan(field.ContentStart, field.ContentLength));
                Write(initializer.ToArray());
                Write(header.ToArray());
                var random = new Random(seed);
                var buffer = new byte[4 << 20];
                for (var left = paddingBytes; left > 0; left -= buffer.Length)
                {
                    var count = (int)Math.Min(buffer.Length, left);
                    random.NextBytes(buffer.AsSpan(0, count));
                    Write(buffer.AsSpan(0, count));
                }
            }
        }

        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    private sealed record Field(int Number, int WireType, int Start, int ContentStart, int End)
    {
        public int ContentLength => End - ContentStart;
    }

    private static List<Field> TopLevelFields(byte[] data)
    {
        var fields = new List<Field>();
        var position = 0;
        while (position < data.Length)
        {
            var start = position;
            var key = ReadVarint(data, ref position);
            var number = (int)(key >> 3);
            var wireType = (int)(key & 7);
            int contentStart;
            switch (wireType)
            {
                case 0:
                    contentStart = position;
                    ReadVarint(data, ref position);
                    break;
                case 1:
                    contentStart = position;
                    position += 8;
                    break;
                case 2:
                    var length = ReadVarint(data, ref position);
                    contentStart = position;
                    position = checked(position + (int)length);
                    break;
                case 5:
                    contentStart = position;
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {wireType} at byte {start}.");
            }

            if (number <= 0 || position > data.Length)
            {
                throw new InvalidDataException($"Not a protobuf message: field at byte {start} runs past the end.");
            }

            fields.Add(new Field(number, wireType, start, contentStart, position));
        }

        return fields;
    }

    private static ulong ReadVarint(byte[] data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                throw new InvalidDataException("Truncated varint.");
            }

            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("Varint longer than 10 bytes.");
    }

    private static void WriteTag(Stream stream, int number, int wireType) => WriteVarint(stream, ((ulong)number << 3) | (uint)wireType);

    private static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        stream.WriteByte((byte)value);
    }
}
