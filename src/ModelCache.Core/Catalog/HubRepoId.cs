using System;
using System.Text.RegularExpressions;
using ModelCache.Errors;

namespace ModelCache.Catalog;

/// <summary>
/// A validated hub repository id, <c>org/name</c> (or a bare <c>name</c>), and its type. Every path
/// and URL of a repo is derived from this, never from text read off disk or the network.
/// </summary>
public sealed class HubRepoId : IEquatable<HubRepoId>
{
    private const string Separator = "--";

    // The hub's own rule: letters, digits, '-', '_', '.'; no "--" or ".." (the folder naming relies on it).
    private static readonly Regex PartPattern = new("^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$", RegexOptions.CultureInvariant);

    private HubRepoId(string? owner, string name, HubRepoType type)
    {
        Owner = owner;
        Name = name;
        Type = type;
    }

    /// <summary>The user or organisation; null for legacy ids without one (e.g. <c>gpt2</c>).</summary>
    public string? Owner { get; }

    public string Name { get; }

    public HubRepoType Type { get; }

    /// <summary><c>org/name</c>, as the hub spells it.</summary>
    public string Id => Owner is null ? Name : Owner + "/" + Name;

    /// <summary>The repo's folder in a hub cache: <c>models--org--name</c>.</summary>
    public string FolderName => TypePrefix(Type) + Separator + (Owner is null ? Name : Owner + Separator + Name);

    /// <summary>The URL path prefix before the id: empty for models, <c>datasets/</c>, <c>spaces/</c>.</summary>
    internal string UrlPrefix => Type switch
    {
        HubRepoType.Dataset => "datasets/",
        HubRepoType.Space => "spaces/",
        _ => string.Empty,
    };

    /// <summary>Parses <c>org/name</c>; throws <c>HubRepoNameInvalid</c> when it is not a valid hub id.</summary>
    public static HubRepoId Parse(string? id, HubRepoType type = HubRepoType.Model) =>
        TryParse(id, type, out var repo) ? repo! : throw new ModelCacheException("HubRepoNameInvalid", ModelCacheErrorKind.InvalidArgument,
            $"'{id}' is not a Hugging Face repository id.",
            "Name the repository as it appears on the hub, 'org/name' (letters, digits, '-', '_' and '.'; no '--' or '..').");

    public static bool TryParse(string? id, HubRepoType type, out HubRepoId? repo)
    {
        repo = null;
        if (string.IsNullOrEmpty(id))
        {
            return false;
        }

        var parts = id!.Split('/');
        if (parts.Length > 2 || Array.Exists(parts, p => !IsValidPart(p)))
        {
            return false;
        }

        repo = parts.Length == 2 ? new HubRepoId(parts[0], parts[1], type) : new HubRepoId(null, parts[0], type);
        return true;
    }

    /// <summary>Reads a cache folder name such as <c>models--org--name</c>; false for anything else.</summary>
    public static bool TryParseFolderName(string? folderName, out HubRepoId? repo)
    {
        repo = null;
        if (string.IsNullOrEmpty(folderName))
        {
            return false;
        }

        var parts = folderName!.Split(new[] { Separator }, StringSplitOptions.None);
        if (parts.Length is < 2 or > 3 || ParseTypePrefix(parts[0]) is not { } type)
        {
            return false;
        }

        return TryParse(parts.Length == 3 ? parts[1] + "/" + parts[2] : parts[1], type, out repo);
    }

    public bool Equals(HubRepoId? other) => other is not null && Type == other.Type && string.Equals(Id, other.Id, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as HubRepoId);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(FolderName);

    public override string ToString() => Id;

    private static bool IsValidPart(string part) =>
        PartPattern.IsMatch(part) && part.IndexOf("--", StringComparison.Ordinal) < 0 && part.IndexOf("..", StringComparison.Ordinal) < 0;

    private static string TypePrefix(HubRepoType type) => type switch
    {
        HubRepoType.Dataset => "datasets",
        HubRepoType.Space => "spaces",
        _ => "models",
    };

    private static HubRepoType? ParseTypePrefix(string prefix) => prefix switch
    {
        "models" => HubRepoType.Model,
        "datasets" => HubRepoType.Dataset,
        "spaces" => HubRepoType.Space,
        _ => null,
    };
}
