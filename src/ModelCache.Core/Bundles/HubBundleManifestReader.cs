using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.HuggingFace;
using ModelCache.Catalog;

namespace ModelCache.Bundles;

/// <summary>
/// Reads the manifest of a bundle written with <c>-Layout HuggingFace</c> as input from a stranger: every repo id,
/// repo type, commit, path, blob id and ref is checked by the hub cache's own rules before it can become a path,
/// the size and SHA-256 must be consistent with the blob id, and no (repo, commit, path) or ref is claimed twice.
/// Any failure refuses the whole bundle, naming the entry, before anything is written.
/// </summary>
internal static class HubBundleManifestReader
{
    private static readonly Dictionary<string, HubRepoType> RepoTypes = new(StringComparer.Ordinal)
    {
        ["model"] = HubRepoType.Model,
        ["dataset"] = HubRepoType.Dataset,
        ["space"] = HubRepoType.Space,
    };

    /// <summary>The name the manifest writes for a repo type.</summary>
    public static string RepoTypeName(HubRepoType type) => RepoTypes.First(t => t.Value == type).Key;

    public static IReadOnlyList<HubBundleFile> Read(byte[] bytes, string where)
    {
        var parsed = BundleManifestReader.Parse(bytes, where);
        var files = new List<HubBundleFile>();
        var places = new HashSet<string>(StringComparer.Ordinal);
        var blobs = new Dictionary<string, BundleModel>(StringComparer.Ordinal);
        var refs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in parsed.Models ?? new List<BundleModel>())
        {
            if (entry is null)
            {
                throw BundleManifestReader.Invalid(where, "it lists an empty entry");
            }

            if (entry.Hub is null)
            {
                throw BundleManifestReader.LayoutMismatch(where, $"it holds catalog models ({BundleManifestReader.Shorten(entry.Name)}), not Hugging Face hub cache files",
                    "Import it with 'Import-ModelCache -Layout Native' (or Uniface)");
            }

            var file = Check(entry, entry.Hub, where);
            if (!places.Add(file.RepoId.FolderName + "@" + file.Commit + ":" + file.FilePath))
            {
                throw Refused(where, entry, "the bundle lists that repo, commit and path twice");
            }

            // One blob travels once, however many entries share it; they must agree on what it is.
            if (blobs.TryGetValue(file.BlobId, out var same) && (same.Size != entry.Size || same.Sha256 != entry.Sha256))
            {
                throw Refused(where, entry, $"it gives blob {file.BlobId} another size or SHA-256 than an earlier entry");
            }

            blobs[file.BlobId] = entry;
            foreach (var name in file.Refs)
            {
                var key = file.RepoId.FolderName + "|" + name;
                if (refs.TryGetValue(key, out var commit) && commit != file.Commit)
                {
                    throw Refused(where, entry, $"its ref '{name}' points at {file.Commit}, but an earlier entry's at {commit}");
                }

                refs[key] = file.Commit;
            }

            files.Add(file);
        }

        return files;
    }

    private static HubBundleFile Check(BundleModel entry, BundleHubFile hub, string where)
    {
        if (hub.RepoType is null || !RepoTypes.TryGetValue(hub.RepoType, out var type))
        {
            throw Refused(where, entry, $"its repo type '{BundleManifestReader.Shorten(hub.RepoType)}' is not model, dataset or space");
        }

        if (!HubRepoId.TryParse(hub.Repo, type, out var repo))
        {
            throw Refused(where, entry, $"'{BundleManifestReader.Shorten(hub.Repo)}' is not a hub repository id (org/name; letters, digits, '-', '_', '.'; no '--' or '..')");
        }

        if (!HubNames.IsCommitId(hub.Commit))
        {
            throw Refused(where, entry, $"its commit '{BundleManifestReader.Shorten(hub.Commit)}' is not 40 lowercase hex digits");
        }

        if (!HubNames.IsValidRepoPath(hub.Path))
        {
            throw Refused(where, entry, $"its path '{BundleManifestReader.Shorten(hub.Path)}' is not a relative '/'-separated path in a repo (no empty, '.', '..' or absolute segments, no '\\' or ':')");
        }

        if (!HubNames.IsBlobId(hub.BlobId))
        {
            throw Refused(where, entry, $"its blob id '{BundleManifestReader.Shorten(hub.BlobId)}' is neither a SHA-256 (64 hex) nor a git blob SHA-1 (40 hex)");
        }

        var refs = hub.Refs ?? new List<string>();
        if (refs.FirstOrDefault(r => !HubNames.IsValidRevision(r) || HubNames.IsCommitId(r)) is { } badRef)
        {
            throw Refused(where, entry, $"its ref '{BundleManifestReader.Shorten(badRef)}' is not a valid branch or tag name");
        }

        if (!string.Equals(entry.FileName, hub.BlobId, StringComparison.Ordinal))
        {
            throw Refused(where, entry, $"its file in the bundle is '{BundleManifestReader.Shorten(entry.FileName)}', not its blob id");
        }

        if (!HubNames.IsSha256(entry.Sha256) || entry.Size < 0 || (HubNames.IsSha256(hub.BlobId) && entry.Sha256 != hub.BlobId))
        {
            throw Refused(where, entry, $"its size or SHA-256 ({entry.Size} bytes, '{BundleManifestReader.Shorten(entry.Sha256)}') is not valid for blob {hub.BlobId}");
        }

        var file = new HubBundleFile(entry, repo!, hub.Commit, hub.Path, hub.BlobId, refs.Distinct(StringComparer.Ordinal).ToList());
        if (!string.Equals(entry.Name, file.Name, StringComparison.Ordinal))
        {
            throw Refused(where, entry, $"its name is not {file.Name}");
        }

        return file;
    }

    private static Errors.ModelCacheException Refused(string where, BundleModel entry, string why) =>
        BundleManifestReader.Invalid(where, $"its entry '{BundleManifestReader.Shorten(entry.Name)}' is refused: {why}");
}
