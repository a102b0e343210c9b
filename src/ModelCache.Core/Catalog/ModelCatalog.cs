using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Errors;

namespace ModelCache.Catalog;

/// <summary>
/// The set of models ModelCache knows: the built-in uniface zoo and extra detectors, with user
/// catalogs merged over it. Resolves the names users type into exactly one definition.
/// </summary>
public sealed class ModelCatalog
{
    private const string BuiltInResource = "ModelCache.Catalog.builtin-catalog.json";
    private readonly Dictionary<string, ModelDefinition> _byName;

    public ModelCatalog(IEnumerable<ModelDefinition> models)
    {
        _byName = new Dictionary<string, ModelDefinition>(StringComparer.OrdinalIgnoreCase);
        var order = new List<string>();
        foreach (var model in models)
        {
            if (!_byName.ContainsKey(model.Name))
            {
                order.Add(model.Name);
            }

            // Later definitions win, which is how user catalogs override built-in entries.
            _byName[model.Name] = model;
        }

        Models = order.Select(name => _byName[name]).ToList();
    }

    public IReadOnlyList<ModelDefinition> Models { get; }

    /// <summary>The catalog compiled into the assembly.</summary>
    public static IReadOnlyList<ModelDefinition> ReadBuiltIn() => BuiltIn.Value;

    // Parsed once per process: it is part of the assembly and its definitions are immutable, and parsing and checking
    // every entry again cost 1-2 ms of every command (a single-image Invoke-FaceDetect is ~10 ms of work, issue 22).
    private static readonly Lazy<IReadOnlyList<ModelDefinition>> BuiltIn = new(() =>
    {
        using var stream = typeof(ModelCatalog).Assembly.GetManifestResourceStream(BuiltInResource)
            ?? throw new InvalidOperationException("The built-in catalog resource is missing from ModelCache.Core.");
        using var reader = new StreamReader(stream);
        return CatalogReader.Read(reader.ReadToEnd(), "built-in catalog", ModelDefinition.BuiltInOrigin);
    });

    /// <summary>Built-in catalog with each user catalog file merged over it, in order.</summary>
    public static ModelCatalog Load(IEnumerable<string> userCatalogFiles)
    {
        var models = new List<ModelDefinition>(ReadBuiltIn());
        foreach (var file in userCatalogFiles)
        {
            models.AddRange(CatalogReader.ReadFile(file));
        }

        return new ModelCatalog(models);
    }

    public bool TryGet(string qualifiedName, out ModelDefinition? model) => _byName.TryGetValue(qualifiedName, out model);

    /// <summary>Entries whose cache file name is <paramref name="fileName"/> (case-insensitive).</summary>
    /// <summary>
    /// The model whose file name is exactly <paramref name="fileName"/> (case matters: it names a file on disk); the
    /// first one when a user catalog reuses a name. Null when none.
    /// </summary>
    public ModelDefinition? FindByExactFileName(string fileName) => Models.FirstOrDefault(m => string.Equals(m.FileName, fileName, StringComparison.Ordinal));

    public IReadOnlyList<ModelDefinition> FindByFileName(string fileName) =>
        Models.Where(m => string.Equals(m.FileName, fileName, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>
    /// Resolves <c>Family/Member</c> or a bare member name. A bare name shared by several families
    /// goes to the single detection family that has it (MNET_V2 → RetinaFace, as in uniface);
    /// otherwise it is ambiguous.
    /// </summary>
    public ModelDefinition Resolve(string name)
    {
        var trimmed = (name ?? string.Empty).Trim();
        if (trimmed.Length == 0)
        {
            throw ModelNameException.Unknown(trimmed, Array.Empty<string>());
        }

        if (_byName.TryGetValue(trimmed, out var exact))
        {
            return exact;
        }

        if (trimmed.IndexOf('/') < 0)
        {
            var sameMember = Models.Where(m => string.Equals(m.Member, trimmed, StringComparison.OrdinalIgnoreCase)).ToList();
            if (sameMember.Count == 1)
            {
                return sameMember[0];
            }

            if (sameMember.Count > 1)
            {
                var detection = sameMember.Where(m => m.IsDetection).ToList();
                if (detection.Count == 1)
                {
                    return detection[0];
                }

                throw ModelNameException.Ambiguous(trimmed, sameMember.Select(m => m.Name));
            }
        }

        throw ModelNameException.Unknown(trimmed, ClosestNames(trimmed));
    }

    /// <summary>Up to five qualified names closest to <paramref name="name"/>, closest first.</summary>
    public IReadOnlyList<string> ClosestNames(string name, int count = 5)
    {
        var scored = Models
            .Select(m => (m.Name, Score: Math.Min(
                EditDistance.Between(name, m.Name),
                name.IndexOf('/') < 0 ? EditDistance.Between(name, m.Member) : int.MaxValue)))
            .Where(x => x.Score <= Math.Max(3, name.Length / 2))
            .OrderBy(x => x.Score)
            .ThenBy(x => x.Name, StringComparer.OrdinalIgnoreCase)
            .Take(count)
            .Select(x => x.Name)
            .ToList();
        return scored;
    }
}
