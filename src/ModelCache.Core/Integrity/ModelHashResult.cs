namespace ModelCache.Integrity;

/// <summary>The outcome of checking one file against its expected SHA-256.</summary>
public sealed class ModelHashResult
{
    public ModelHashResult(string? name, string path, string? expected, string? actual, HashStatus status)
    {
        Name = name;
        Path = path;
        Expected = expected;
        Actual = actual;
        Status = status;
    }

    /// <summary>Qualified model name, or null for a file the catalog does not know.</summary>
    public string? Name { get; }

    public string Path { get; }

    public string? Expected { get; }

    public string? Actual { get; }

    public HashStatus Status { get; }

    public bool IsValid => Status == HashStatus.Valid;
}
