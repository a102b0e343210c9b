using System;
using System.IO;
using ModelCache.IO;
using ModelCache.Store;
using Newtonsoft.Json;

namespace ModelCache.Transfer;

/// <summary>
/// The bytes of an unfinished download (<c>&lt;FileName&gt;.partial</c>) and what is needed to resume it
/// safely (<c>&lt;FileName&gt;.partial.json</c>: where it came from and the server's validator for If-Range).
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

        return new ResumePoint(length, state.Validator);
    }

    /// <summary>Records where the partial's bytes come from, before any is written.</summary>
    public void Describe(string location, string? validator)
    {
        var json = JsonConvert.SerializeObject(new State { Location = location, Validator = validator });
        AtomicFile.WriteAllText(_statePath, json);
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
