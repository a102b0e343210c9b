using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using ModelCache.Errors;
using ModelCache.IO;
using ModelCache.Inference.Layouts;

namespace ModelCache.Inference;

/// <summary>
/// Reads a model's graph inputs and outputs straight from the ONNX file (the protobuf wire format of
/// onnx.proto's ModelProto, decoded by hand for the few fields needed), before ONNX Runtime sees the file. It
/// streams the file and seeks over everything else (weights, nodes), so reading costs a few kilobytes whatever
/// the file declares; what it keeps (names and dimensions) is capped at <see cref="MaxSignatureBytes"/>.
/// </summary>
internal static class OnnxModelReader
{
    /// <summary>Names and shapes kept from one model; every known detector needs a few kilobytes.</summary>
    public const int MaxSignatureBytes = 1024 * 1024;

    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLength = 2;
    private const int WireFixed32 = 5;

    // onnx.proto field numbers.
    private const int ModelGraph = 7;
    private const int ModelFunctions = 25;
    private const int GraphNode = 1;
    private const int GraphInitializer = 5;
    private const int TensorName = 8;
    private const int NodeAttribute = 5;
    private const int AttributeGraph = 6;
    private const int AttributeGraphs = 11;
    private const int MaxGraphDepth = 32;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;
    private const int ValueInfoName = 1;
    private const int ValueInfoType = 2;
    private const int TypeTensor = 1;
    private const int TensorElemType = 1;
    private const int TensorShape = 2;
    private const int ShapeDim = 1;
    private const int DimValue = 1;

    /// <summary>The graph's declared inputs and outputs (named as ONNX Runtime's metadata names their element types) and its node count.</summary>
    /// <exception cref="ModelCacheException">ModelLoadFailed when the file is not an ONNX model; UnsupportedModelLayout when its declared signature exceeds the cap.</exception>
    public static OnnxModelInfo Read(string path)
    {
        try
        {
            using var stream = RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.RandomAccess);
            var reader = new Reader(stream, path);
            var inputs = new List<TensorSignature>();
            var initializers = new HashSet<string>(StringComparer.Ordinal);
            var outputs = new List<TensorSignature>();
            long nodes = 0;
            var functions = false;
            var end = stream.Length;
            while (reader.Position < end)
            {
                var (field, wire) = reader.Tag(end);
                if (field == ModelGraph && wire == WireLength)
                {
                    var graphEnd = reader.LengthEnd(end);
                    while (reader.Position < graphEnd)
                    {
                        var (graphField, graphWire) = reader.Tag(graphEnd);
                        if ((graphField == GraphInput || graphField == GraphOutput) && graphWire == WireLength)
                        {
                            (graphField == GraphInput ? inputs : outputs).Add(ReadValueInfo(reader, reader.LengthEnd(graphEnd)));
                        }
                        else if (graphField == GraphInitializer && graphWire == WireLength)
                        {
                            initializers.Add(ReadInitializerName(reader, reader.LengthEnd(graphEnd)));
                        }
                        else if (graphField == GraphNode && graphWire == WireLength)
                        {
                            nodes += CountNodes(reader, reader.LengthEnd(graphEnd), 0);
                        }
                        else
                        {
                            reader.Skip(graphWire, graphEnd);
                        }
                    }
                }
                else
                {
                    functions |= field == ModelFunctions;
                    reader.Skip(wire, end);
                }
            }

            // As ONNX Runtime's metadata: a graph input that has an initializer (UltraFace lists its weights) is not a model input.
            inputs.RemoveAll(i => initializers.Contains(i.Name));
            return new OnnxModelInfo(new ModelSignature(inputs, outputs), nodes, functions);
        }
        catch (InvalidDataException ex)
        {
            throw new ModelCacheException("ModelLoadFailed", ModelCacheErrorKind.InvalidData,
                $"'{path}' is not a valid ONNX model: {ex.Message}", "Check that the file is a valid ONNX model (Test-ModelHash, or Save-Model -Force).", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("ModelLoadFailed", ModelCacheErrorKind.ReadError,
                $"The model file '{path}' cannot be read: {ex.Message}", "Check the file's permissions, or save the model again with Save-Model -Force.", ex);
        }
    }

    /// <summary>One node plus the nodes of the subgraphs in its attributes (If, Loop, Scan), at any depth up to <see cref="MaxGraphDepth"/>.</summary>
    private static long CountNodes(Reader reader, long end, int depth)
    {
        if (depth > MaxGraphDepth)
        {
            throw new InvalidDataException($"subgraphs nested more than {MaxGraphDepth} deep");
        }

        long count = 1;
        while (reader.Position < end)
        {
            var (field, wire) = reader.Tag(end);
            if (field != NodeAttribute || wire != WireLength)
            {
                reader.Skip(wire, end);
                continue;
            }

            var attributeEnd = reader.LengthEnd(end);
            while (reader.Position < attributeEnd)
            {
                var (attributeField, attributeWire) = reader.Tag(attributeEnd);
                if ((attributeField == AttributeGraph || attributeField == AttributeGraphs) && attributeWire == WireLength)
                {
                    var graphEnd = reader.LengthEnd(attributeEnd);
                    while (reader.Position < graphEnd)
                    {
                        var (graphField, graphWire) = reader.Tag(graphEnd);
                        if (graphField == GraphNode && graphWire == WireLength)
                        {
                            count += CountNodes(reader, reader.LengthEnd(graphEnd), depth + 1);
                        }
                        else
                        {
                            reader.Skip(graphWire, graphEnd);
                        }
                    }
                }
                else
                {
                    reader.Skip(attributeWire, attributeEnd);
                }
            }
        }

        return count;
    }

    private static string ReadInitializerName(Reader reader, long end)
    {
        reader.Spend(16);
        var name = string.Empty;
        while (reader.Position < end)
        {
            var (field, wire) = reader.Tag(end);
            if (field == TensorName && wire == WireLength)
            {
                name = reader.String(end);
            }
            else
            {
                reader.Skip(wire, end); // dims, and the weights themselves: never read
            }
        }

        return name;
    }

    private static TensorSignature ReadValueInfo(Reader reader, long end)
    {
        reader.Spend(64); // Empty entries cost too: a million of them are not a detector either.
        var name = string.Empty;
        var elementType = 0;
        var dims = new List<int>();
        while (reader.Position < end)
        {
            var (field, wire) = reader.Tag(end);
            if (field == ValueInfoName && wire == WireLength)
            {
                name = reader.String(end);
            }
            else if (field == ValueInfoType && wire == WireLength)
            {
                var typeEnd = reader.LengthEnd(end);
                while (reader.Position < typeEnd)
                {
                    var (typeField, typeWire) = reader.Tag(typeEnd);
                    if (typeField != TypeTensor || typeWire != WireLength)
                    {
                        reader.Skip(typeWire, typeEnd);
                        continue;
                    }

                    var tensorEnd = reader.LengthEnd(typeEnd);
                    while (reader.Position < tensorEnd)
                    {
                        var (tensorField, tensorWire) = reader.Tag(tensorEnd);
                        if (tensorField == TensorElemType && tensorWire == WireVarint)
                        {
                            elementType = (int)reader.Varint(tensorEnd);
                        }
                        else if (tensorField == TensorShape && tensorWire == WireLength)
                        {
                            ReadShape(reader, reader.LengthEnd(tensorEnd), dims);
                        }
                        else
                        {
                            reader.Skip(tensorWire, tensorEnd);
                        }
                    }
                }
            }
            else
            {
                reader.Skip(wire, end);
            }
        }

        return new TensorSignature(name, ElementTypeName(elementType), dims.ToArray());
    }

    private static void ReadShape(Reader reader, long end, List<int> dims)
    {
        while (reader.Position < end)
        {
            var (field, wire) = reader.Tag(end);
            if (field != ShapeDim || wire != WireLength)
            {
                reader.Skip(wire, end);
                continue;
            }

            var dimEnd = reader.LengthEnd(end);
            var value = -1L;
            while (reader.Position < dimEnd)
            {
                var (dimField, dimWire) = reader.Tag(dimEnd);
                if (dimField == DimValue && dimWire == WireVarint)
                {
                    value = (long)reader.Varint(dimEnd);
                }
                else
                {
                    reader.Skip(dimWire, dimEnd); // dim_param (symbolic) and denotation: dynamic, as ONNX Runtime reports them.
                }
            }

            reader.Spend(8);
            dims.Add(value is >= 0 and <= int.MaxValue ? (int)value : -1);
        }
    }

    /// <summary>onnx.proto's TensorProto.DataType as .NET names it (the names ONNX Runtime's metadata gives).</summary>
    private static string ElementTypeName(int type) => type switch
    {
        1 => "Single",
        2 => "Byte",
        3 => "SByte",
        4 => "UInt16",
        5 => "Int16",
        6 => "Int32",
        7 => "Int64",
        8 => "String",
        9 => "Boolean",
        10 => "Float16",
        11 => "Double",
        12 => "UInt32",
        13 => "UInt64",
        16 => "BFloat16",
        _ => "type " + type.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>A forward-only protobuf reader over a seekable stream; every length is checked against its enclosing message.</summary>
    private sealed class Reader
    {
        private readonly Stream _stream;
        private readonly string _path;
        private long _kept;

        public Reader(Stream stream, string path)
        {
            _stream = stream;
            _path = path;
        }

        public long Position => _stream.Position;

        public (int Field, int Wire) Tag(long end)
        {
            var tag = Varint(end);
            var field = (int)(tag >> 3);
            if (field <= 0 || tag >> 3 > int.MaxValue)
            {
                throw new InvalidDataException($"bad field tag at byte {Position}");
            }

            return (field, (int)(tag & 7));
        }

        public ulong Varint(long end)
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (Position >= end)
                {
                    throw new InvalidDataException($"truncated number at byte {Position}");
                }

                var b = _stream.ReadByte();
                if (b < 0)
                {
                    throw new InvalidDataException("the file ends inside a number");
                }

                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }

            throw new InvalidDataException($"a number longer than 10 bytes at byte {Position}");
        }

        /// <summary>Reads a length prefix and returns where the field ends, inside <paramref name="end"/>.</summary>
        public long LengthEnd(long end)
        {
            var length = Varint(end);
            if (length > (ulong)(end - Position))
            {
                throw new InvalidDataException($"a field at byte {Position} claims {length} bytes, more than its enclosing message holds");
            }

            return Position + (long)length;
        }

        public string String(long end)
        {
            var stop = LengthEnd(end);
            var length = (int)(stop - Position);
            Spend(length);
            var bytes = new byte[length];
            var read = 0;
            while (read < length)
            {
                var n = _stream.Read(bytes, read, length - read);
                if (n <= 0)
                {
                    throw new InvalidDataException("the file ends inside a name");
                }

                read += n;
            }

            return Encoding.UTF8.GetString(bytes);
        }

        public void Skip(int wire, long end)
        {
            long stop = wire switch
            {
                WireVarint => -1,
                WireFixed64 => Position + 8,
                WireLength => LengthEnd(end),
                WireFixed32 => Position + 4,
                _ => throw new InvalidDataException($"wire type {wire} at byte {Position} is not used by ONNX"),
            };
            if (stop < 0)
            {
                Varint(end);
                return;
            }

            if (stop > end)
            {
                throw new InvalidDataException($"a field at byte {Position} runs past its enclosing message");
            }

            _stream.Seek(stop, SeekOrigin.Begin);
        }

        /// <summary>Counts what is kept in memory against <see cref="MaxSignatureBytes"/>.</summary>
        public void Spend(int bytes)
        {
            _kept += bytes;
            if (_kept > MaxSignatureBytes)
            {
                throw new ModelCacheException("UnsupportedModelLayout", ModelCacheErrorKind.InvalidData,
                    $"'{_path}' is not a face detector of a known layout: its graph declares more than {MaxSignatureBytes / 1024} KiB of input and output names and shapes, far more than any face detector.",
                    "Use a RetinaFace, SCRFD, YOLOv5-Face, YOLOv8-Face, BlazeFace or UltraFace ONNX export, for example one from Get-ModelCatalog.");
            }
        }
    }
}

/// <summary>What <see cref="OnnxModelReader"/> learns of a model without running it.</summary>
internal sealed class OnnxModelInfo
{
    public OnnxModelInfo(ModelSignature signature, long nodeCount, bool hasFunctions)
    {
        Signature = signature;
        NodeCount = nodeCount;
        HasFunctions = hasFunctions;
    }

    public ModelSignature Signature { get; }

    /// <summary>Nodes of the main graph and of every subgraph.</summary>
    public long NodeCount { get; }

    /// <summary>The model defines local functions, which ONNX Runtime expands into more nodes when it loads the model.</summary>
    public bool HasFunctions { get; }
}
