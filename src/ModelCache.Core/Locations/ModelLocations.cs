using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.IO;

namespace ModelCache.Locations;

/// <summary>
/// Per-model locations (tfimm's): for some models, the folder that holds the model's file instead of the cache
/// root's own <c>models/&lt;Family&gt;/&lt;Member&gt;</c>. Keyed by <c>Family/Member</c>, case-insensitively; each with
/// the rule that chose it. The native layout reads them; metadata and locks stay in the cache root.
/// </summary>
public sealed class ModelLocations
{
    public static readonly ModelLocations None = new(Array.Empty<CacheLocation>());

    private readonly Dictionary<string, CacheLocation> _byModel;

    public ModelLocations(IEnumerable<CacheLocation> locations)
    {
        _byModel = new Dictionary<string, CacheLocation>(StringComparer.OrdinalIgnoreCase);
        foreach (var location in locations)
        {
            if (location.Model is { } model && !_byModel.ContainsKey(model))
            {
                _byModel[model] = location;
            }
        }
    }

    public IReadOnlyCollection<CacheLocation> All => _byModel.Values.OrderBy(l => l.Model, StringComparer.OrdinalIgnoreCase).ToList();

    public bool IsEmpty => _byModel.Count == 0;

    /// <summary>The location of <c>family/member</c>, or null when it has none of its own.</summary>
    public CacheLocation? Find(string family, string member) => _byModel.TryGetValue(family + "/" + member, out var location) ? location : null;

    /// <summary>The folder among these that <paramref name="fullPath"/> is, or lies under; null when none.</summary>
    public string? FolderContaining(string fullPath)
    {
        foreach (var folder in _byModel.Values.Select(l => l.Path))
        {
            if (PathRules.IsSameOrInside(fullPath, folder))
            {
                return folder;
            }
        }

        return null;
    }
}
