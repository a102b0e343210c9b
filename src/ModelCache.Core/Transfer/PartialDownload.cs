using System;
using System.IO;
using ModelCache.IO;
using ModelCache.Store;
using Newtonsoft.Json;

namespace ModelCache.Transfer;

/// <summary>
/// The bytes of an unfinished download (<c>&lt;FileName&gt;.partial</c>) and what is needed to resume it
/// safely (<c>&lt;FileName&gt;.partial.json</c>: where it came from and the server's validator for If-Range).
/// A partial written in segments (several ranges at once) also records its size and the ranges that are complete:
/// its length says nothing then, as the file is allocated in full from the start.
/// </summary>
internal sealed class PartialDownload
{
    private readonly string _statePath;

    public PartialDownload(string path)
    {
        Path = path;
        _statePath = CacheFiles.PartialStatePathFor(path.Substring(0, path.Length - CacheFiles.PartialSuffix.Length));
    }

    public string Path { get; }

    public long Length => File.Exists(Path) ? new FileInfo(Path).Length : 0;

    /// <summary>How to resume from <paramref name="location"/>, or null when the partial cannot be trusted for it.</summary>
    public ResumePoint? ResumePointFor(string location)
    {
        var length = Length;
        if (length == 0)
        {
            return null;
        }

        var state = ReadState();
        if (state is null || !string.Equals(state.Location, location, StringComparison.Ordinal))
        {
            return null;
        }

        if (state.Done is not null)
        {
            // Segmented: resume at the end of the complete prefix; the ranges after it come from SegmentsFor.
            var segments = SegmentsOf(state, length);
            return segments is null ? null : new ResumePoint(segments.PrefixEnd, state.Validator);
        }

        return new ResumePoint(length, state.Validator);
    }

    /// <summary>The complete ranges of a partial written in segments for <paramref name="location"/>; null for a contiguous (or untrusted) one.</summary>
    public RangeSet? SegmentsFor(string location)
    {
        var state = ReadState();
        return state?.Done is null || !string.Equals(state.Location, location, StringComparison.Ordinal) ? null : SegmentsOf(state, Length);
    }

    /// <summary>True when the partial is written in segments, whatever its source: its length is not a resume point.</summary>
    public bool IsSegmented => ReadState()?.Done is not null;

    /// <summary>Records where the partial's bytes come from, before any is written.</summary>
    public void Describe(string location, string? validator)
    {
        var json = JsonConvert.SerializeObject(new State { Location = location, Validator = validator });
        AtomicFile.WriteAllText(_statePath, json);
    }

    /// <summary>Records a segmented partial: its source, validator, size and the ranges complete so far (written before they are recorded).</summary>
    public void Describe(string location, string? validator, long size, RangeSet done)
    {
        var json = JsonConvert.SerializeObject(new State { Location = location, Validator = validator, Size = size, Done = done.ToArray() });
        AtomicFile.WriteAllText(_statePath, json);
    }

    /// <summary>Bounded: a state naming more ranges than a real download makes, or ranges outside the file, is not trusted.</summary>
    private static RangeSet? SegmentsOf(State state, long length)
    {
        if (state.Size is not { } size || size <= 0 || length != size || state.Done!.Length > RangeSet.MaxRanges)
        {
            return null;
        }

        var set = new RangeSet();
        foreach (var range in state.Done)
        {
            if (range is null || range.Length != 2 || range[0] < 0 || range[1] <= range[0] || range[1] > size)
            {
                return null;
            }

            set.Add(range[0], range[1]);
        }

        return set;
    }

    public void Delete()
    {
        FileCleanup.TryDelete(Path);
        FileCleanup.TryDelete(_statePath);
    }

    /// <summary>Drops the resume state only; done before promotion so a crash cannot orphan it.</summary>
    public void DeleteState() => FileCleanup.TryDelete(_statePath);

    private State? ReadState()
    {
        try
        {
            return File.Exists(_statePath) ? JsonConvert.DeserializeObject<State>(RegularFile.ReadAllText(_statePath)) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    private sealed class State
    {
        [JsonProperty("location")]
        public string? Location { get; set; }

        [JsonProperty("validator")]
        public string? Validator { get; set; }

        [JsonProperty("size", NullValueHandling = NullValueHandling.Ignore)]
        public long? Size { get; set; }

        /// <summary>Complete ranges, [start, end) pairs; present only for a segmented partial.</summary>
        [JsonProperty("done", NullValueHandling = NullValueHandling.Ignore)]
        public long[][]? Done { get; set; }
    }
}

/// <summary>Where to resume: the bytes already held and the validator the server gave for them.</summary>
public sealed class ResumePoint
{
    public ResumePoint(long offset, string? validator)
    {
        Offset = offset;
        Validator = validator;
    }

    public long Offset { get; }

    /// <summary>ETag (preferred) or Last-Modified, sent as If-Range so a changed file restarts cleanly.</summary>
    public string? Validator { get; }
}
