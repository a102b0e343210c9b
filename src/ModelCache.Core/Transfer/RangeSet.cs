using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelCache.Transfer;

/// <summary>Disjoint, merged byte ranges [start, end): the parts of a segmented partial that are complete. Not thread-safe.</summary>
internal sealed class RangeSet
{
    /// <summary>More ranges than a real download leaves behind (a few per connection): a state file with more is not trusted.</summary>
    public const int MaxRanges = 4096;

    private readonly List<(long Start, long End)> _ranges = new();

    public long Total => _ranges.Sum(r => r.End - r.Start);

    /// <summary>End of the range that starts at 0, or 0.</summary>
    public long PrefixEnd => _ranges.Count > 0 && _ranges[0].Start == 0 ? _ranges[0].End : 0;

    public int Count => _ranges.Count;

    public void Add(long start, long end)
    {
        if (end <= start)
        {
            return;
        }

        var index = 0;
        while (index < _ranges.Count && _ranges[index].End < start)
        {
            index++;
        }

        while (index < _ranges.Count && _ranges[index].Start <= end)
        {
            start = Math.Min(start, _ranges[index].Start);
            end = Math.Max(end, _ranges[index].End);
            _ranges.RemoveAt(index);
        }

        _ranges.Insert(index, (start, end));
    }

    /// <summary>The ranges of [0, <paramref name="size"/>) not in the set, in order.</summary>
    public IReadOnlyList<(long Start, long End)> Gaps(long size)
    {
        var gaps = new List<(long, long)>();
        var at = 0L;
        foreach (var (start, end) in _ranges)
        {
            if (start > at)
            {
                gaps.Add((at, Math.Min(start, size)));
            }

            at = Math.Max(at, end);
        }

        if (at < size)
        {
            gaps.Add((at, size));
        }

        return gaps;
    }

    public RangeSet Clone()
    {
        var copy = new RangeSet();
        copy._ranges.AddRange(_ranges);
        return copy;
    }

    public long[][] ToArray() => _ranges.Select(r => new[] { r.Start, r.End }).ToArray();
}
