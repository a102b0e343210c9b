using System;

namespace ModelCache.Errors;

/// <summary>A catalog file that cannot be read or does not follow the catalog schema.</summary>
public sealed class CatalogFormatException : ModelCacheException
{
    public CatalogFormatException(string file, int line, int position, string problem, Exception? inner = null)
        : base("CatalogInvalid", ModelCacheErrorKind.InvalidData,
            line > 0 ? $"Catalog file '{file}' is not valid at line {line}, position {position}: {problem}" : $"Catalog file '{file}' is not valid: {problem}",
            "Fix the catalog file (see about_ModelCache for the schema) or remove it from MODELCACHE_CATALOG / -CatalogPath.",
            inner)
    {
        File = file;
        Problem = problem;
        Line = line;
        Position = position;
    }

    public string File { get; }

    /// <summary>What is wrong, without the file and position.</summary>
    public string Problem { get; }

    public int Line { get; }

    public int Position { get; }
}
