using System;
using System.Globalization;

namespace ModelCache.Testing;

/// <summary>Reads <c>--option value</c> command lines for the benchmarks, one option at a time.</summary>
public sealed class CommandLineReader
{
    private readonly string[] _args;
    private int _index = -1;

    public CommandLineReader(string[] args)
    {
        _args = args;
    }

    /// <summary>Moves to the next option; false at the end.</summary>
    public bool Next(out string option)
    {
        _index++;
        option = _index < _args.Length ? _args[_index] : string.Empty;
        return _index < _args.Length;
    }

    /// <summary>The value after the current option.</summary>
    public string Value()
    {
        var option = _args[_index];
        return _index + 1 < _args.Length ? _args[++_index] : throw new ArgumentException($"{option} needs a value.");
    }

    /// <summary>The value after the current option, as a positive whole number.</summary>
    public int PositiveNumber()
    {
        var option = _args[_index];
        return int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{option} needs a positive whole number.");
    }

    public ArgumentException Unknown() => new($"Unknown option '{_args[_index]}'.");
}
