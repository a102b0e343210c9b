using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ModelCache.Testing;

/// <summary>
/// Writes small ONNX models (the protobuf wire format of onnx.proto's ModelProto, by hand) for tests that need
/// hostile or odd graphs: no weights are committed, every model is built in the test that uses it.
/// </summary>
public sealed class OnnxModelWriter
{
    public const int Float = 1;
    public const int Int64 = 7;

    private readonly List<byte[]> _nodes = new();
    private readonly List<byte[]> _initializers = new();
    private readonly List<byte[]> _inputs = new();
    private readonly List<byte[]> _outputs = new();
    private readonly List<byte[]> _extraModelFields = new();

    public int Opset { get; set; } = 13;

    public long IrVersion { get; set; } = 7;

    public OnnxModelWriter Input(string name, int elementType, params long[] dims)
    {
        _inputs.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    public OnnxModelWriter Output(string name, int elementType, params long[] dims)
    {
        _outputs.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <summary>An int64 initializer holding <paramref name="values"/> (a 1-D tensor).</summary>
    public OnnxModelWriter Int64Initializer(string name, params long[] values)
    {
        _initializers.Add(Tensor(name, Int64, new[] { (long)values.Length }, w => w.PackedVarints(7, values)));
        return this;
    }

    /// <summary>A float initializer of <paramref name="dims"/> whose data is all <paramref name="value"/> (raw_data).</summary>
    public OnnxModelWriter FloatInitializer(string name, float value, params long[] dims)
    {
        long count = 1;
        foreach (var d in dims)
        {
            count *= d;
        }

        var raw = new byte[count * 4];
        for (var i = 0; i < count; i++)
        {
            BitConverter.GetBytes(value).CopyTo(raw, i * 4);
        }

        _initializers.Add(Tensor(name, Float, dims, w => w.Bytes(9, raw)));
        return this;
    }

    /// <summary>A tensor initializer whose bytes live in another file (data_location EXTERNAL).</summary>
    public OnnxModelWriter ExternalInitializer(string name, string location, params long[] dims)
    {
        _initializers.Add(Tensor(name, Float, dims, w =>
        {
            w.Message(13, e => e.String(1, "location").String(2, location));
            w.Varint(14, 1);
        }));
        return this;
    }

    public OnnxModelWriter Node(string opType, string[] inputs, string[] outputs, Action<ProtoWriter>? attributes = null)
    {
        var w = new ProtoWriter();
        foreach (var i in inputs)
        {
            w.String(1, i);
        }

        foreach (var o in outputs)
        {
            w.String(2, o);
        }

        w.String(3, opType + "_" + _nodes.Count);
        w.String(4, opType);
        attributes?.Invoke(w);
        _nodes.Add(w.ToArray());
        return this;
    }

    /// <summary>Raw bytes appended to the ModelProto (to plant fields a reader must cope with).</summary>
    public OnnxModelWriter ModelField(Action<ProtoWriter> write)
    {
        var w = new ProtoWriter();
        write(w);
        _extraModelFields.Add(w.ToArray());
        return this;
    }

    /// <summary>An INTS attribute for <see cref="Node"/>.</summary>
    public static Action<ProtoWriter> IntsAttribute(string name, params long[] values) =>
        w => w.Message(5, a => a.String(1, name).PackedVarints(8, values).Varint(20, 7));

    /// <summary>An INT attribute for <see cref="Node"/>.</summary>
    public static Action<ProtoWriter> IntAttribute(string name, long value) =>
        w => w.Message(5, a => a.String(1, name).Varint(3, value).Varint(20, 2));

    public byte[] ToArray()
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes)
        {
            graph.Bytes(1, n);
        }

        graph.String(2, "test");
        foreach (var t in _initializers)
        {
            graph.Bytes(5, t);
        }

        foreach (var i in _inputs)
        {
            graph.Bytes(11, i);
        }

        foreach (var o in _outputs)
        {
            graph.Bytes(12, o);
        }

        var model = new ProtoWriter();
        model.Varint(1, IrVersion);
        model.String(2, "ModelCache tests");
        model.Bytes(7, graph.ToArray());
        model.Message(8, o => o.String(1, string.Empty).Varint(2, Opset));
        foreach (var extra in _extraModelFields)
        {
            model.Raw(extra);
        }

        return model.ToArray();
    }

    public string Save(string path)
    {
        File.WriteAllBytes(path, ToArray());
        return path;
    }

    private static byte[] ValueInfo(string name, int elementType, long[] dims) =>
        new ProtoWriter().String(1, name).Message(2, type => type.Message(1, tensor =>
        {
            tensor.Varint(1, elementType);
            tensor.Message(2, shape =>
            {
                foreach (var d in dims)
                {
                    shape.Message(1, dim =>
                    {
                        if (d >= 0)
                        {
                            dim.Varint(1, d);
                        }
                        else
                        {
                            dim.String(2, "d" + (-d).ToString(System.Globalization.CultureInfo.InvariantCulture));
                        }
                    });
                }
            });
        })).ToArray();

    private static byte[] Tensor(string name, int dataType, long[] dims, Action<ProtoWriter> data)
    {
        var w = new ProtoWriter().PackedVarints(1, dims).Varint(2, dataType).String(8, name);
        data(w);
        return w.ToArray();
    }

    /// <summary>The protobuf wire format, just what ONNX models need.</summary>
    public sealed class ProtoWriter
    {
        private readonly MemoryStream _stream = new();

        public ProtoWriter Varint(int field, long value)
        {
            Tag(field, 0);
            WriteVarint((ulong)value);
            return this;
        }

        public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public ProtoWriter Bytes(int field, byte[] value)
        {
            Tag(field, 2);
            WriteVarint((ulong)value.Length);
            _stream.Write(value, 0, value.Length);
            return this;
        }

        public ProtoWriter Message(int field, Action<ProtoWriter> write)
        {
            var inner = new ProtoWriter();
            write(inner);
            return Bytes(field, inner.ToArray());
        }

        public ProtoWriter PackedVarints(int field, long[] values)
        {
            var inner = new ProtoWriter();
            foreach (var v in values)
            {
                inner.WriteVarint((ulong)v);
            }

            return Bytes(field, inner.ToArray());
        }

        public ProtoWriter Raw(byte[] bytes)
        {
            _stream.Write(bytes, 0, bytes.Length);
            return this;
        }

        public byte[] ToArray() => _stream.ToArray();

        private void Tag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            _stream.WriteByte((byte)value);
        }
    }
}
