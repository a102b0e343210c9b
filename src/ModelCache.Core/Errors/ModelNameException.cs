using System.Collections.Generic;
using System.Linq;

namespace ModelCache.Errors;

/// <summary>A model name that is unknown or matches more than one catalog entry.</summary>
public sealed class ModelNameException : ModelCacheException
{
    private ModelNameException(string errorId, ModelCacheErrorKind kind, string name, IReadOnlyList<string> candidates, string message, string action)
        : base(errorId, kind, message, action)
    {
        RequestedName = name;
        Candidates = candidates;
    }

    public string RequestedName { get; }

    /// <summary>Qualified names the user may have meant, closest first.</summary>
    public IReadOnlyList<string> Candidates { get; }

    public static ModelNameException Unknown(string name, IReadOnlyList<string> closest)
    {
        var hint = closest.Count == 0
            ? "Run Get-ModelCatalog to list the known models."
            : $"Did you mean: {string.Join(", ", closest)}? Run Get-ModelCatalog to list the known models.";
        return new ModelNameException("ModelNotFound", ModelCacheErrorKind.NotFound, name, closest,
            $"No model named '{name}' is in the catalog.", hint);
    }

    public static ModelNameException Ambiguous(string name, IEnumerable<string> matches)
    {
        var list = matches.ToList();
        return new ModelNameException("AmbiguousModelName", ModelCacheErrorKind.InvalidArgument, name, list,
            $"The model name '{name}' matches {list.Count} catalog entries: {string.Join(", ", list)}.",
            $"Use a qualified Family/Member name, for example '{list[0]}'.");
    }
}
