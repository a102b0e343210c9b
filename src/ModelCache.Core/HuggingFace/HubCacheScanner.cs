using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using ModelCache.IO;
using ModelCache.Store;
using ModelCache.Catalog;
using ModelCache.Errors;

namespace ModelCache.HuggingFace;

/// <summary>
/// Lists a hub cache (written by huggingface_hub, its JavaScript client or ModelCache), treating it as
/// input from a stranger: names are validated before they become paths, no directory link is walked,
/// a snapshot link is followed only when it points at a plain file in its own repo's <c>blobs/</c>
/// folder, and refs files are bounded. Whatever does not fit is a warning, never an exception.
/// </summary>
public static class HubCacheScanner
{
    private const int MaxRefDepth = 8;
    private static readonly string[] Ignored = { ".DS_Store" };

    /// <summary>Lists every repo under <paramref name="cacheRoot"/>, or only <paramref name="repo"/>. A missing root lists nothing.</summary>
    public static HubCacheScan Scan(string cacheRoot, HubRepoId? repo = null, CancellationToken cancellationToken = default)
    {
        var root = PathRules.FullPath(cacheRoot);
        var entries = new List<HubCacheEntry>();
        var warnings = new List<HubCacheWarning>();
        var revisions = new List<HubScannedRevision>();
        if (repo is not null)
        {
            var folder = new HubRepoFolder(root, repo);
            if (Directory.Exists(folder.Path) || CacheFiles.IsLink(folder.Path))
            {
                ScanRepo(folder, entries, revisions, warnings, cancellationToken);
            }
        }
        else
        {
            foreach (var directory in SafeList(root, warnings, null, directories: true))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var name = Path.GetFileName(directory);
                if (name == HubRepoFolder.LocksFolder)
                {
                    continue;
                }

                if (!HubRepoId.TryParseFolderName(name, out var id))
                {
                    warnings.Add(new HubCacheWarning(directory, $"'{name}' is not a hub repo folder (expected models--<org>--<name>, datasets--… or spaces--…); not read."));
                    continue;
                }

                ScanRepo(new HubRepoFolder(root, id!), entries, revisions, warnings, cancellationToken);
            }
        }

        return new HubCacheScan(root, entries.OrderBy(e => e.RepoId.FolderName, StringComparer.Ordinal).ThenBy(e => e.Revision, StringComparer.Ordinal)
            .ThenBy(e => e.FilePath, StringComparer.Ordinal).ToList(), warnings,
            revisions.OrderBy(r => r.Repo.FolderName, StringComparer.Ordinal).ThenBy(r => r.Commit, StringComparer.Ordinal).ToList());
    }

    /// <summary>Reads <c>refs/</c>: commit id → the ref names pointing at it. Bad refs become warnings.</summary>
    internal static Dictionary<string, List<string>> ReadRefs(HubRepoFolder folder, List<HubCacheWarning> warnings)
    {
        var refs = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (!Directory.Exists(folder.RefsPath) && !CacheFiles.IsLink(folder.RefsPath))
        {
            return refs;
        }

        if (CacheFiles.IsLink(folder.RefsPath))
        {
            warnings.Add(new HubCacheWarning(folder.RefsPath, $"{folder.Repo}: the refs folder is a link; not followed.", folder.Repo.Id, isLink: true));
            return refs;
        }

        ReadRefsBelow(folder, folder.RefsPath, string.Empty, 0, refs, warnings);
        return refs;
    }

    /// <summary>The commit a ref names, or null when the ref is absent or not valid.</summary>
    internal static string? ReadRef(HubRepoFolder folder, string revision)
    {
        var path = folder.Ref(revision);
        for (var current = path; current.Length > folder.Path.Length; current = Path.GetDirectoryName(current)!)
        {
            if (CacheFiles.IsLink(current))
            {
                return null;
            }
        }

        return ReadRefFile(path, out var commit, out _) is null ? commit : null;
    }

    private static void ScanRepo(HubRepoFolder folder, List<HubCacheEntry> entries, List<HubScannedRevision> revisions, List<HubCacheWarning> warnings, CancellationToken cancellationToken)
    {
        var repoName = folder.Repo.Id;
        try
        {
            if (CacheFiles.IsLink(folder.Path))
            {
                warnings.Add(new HubCacheWarning(folder.Path, $"{repoName}: the repo folder is a link; not followed.", repoName, isLink: true));
                return;
            }

            if (!Directory.Exists(folder.SnapshotsPath) || CacheFiles.IsLink(folder.SnapshotsPath))
            {
                warnings.Add(new HubCacheWarning(folder.SnapshotsPath, $"{repoName}: no snapshots folder (or it is a link); nothing listed.", repoName, isLink: true));
                return;
            }

            var blobsLinked = CacheFiles.IsLink(folder.BlobsPath);
            if (blobsLinked)
            {
                warnings.Add(new HubCacheWarning(folder.BlobsPath, $"{repoName}: the blobs folder is a link; no snapshot link is followed into it.", repoName, isLink: true));
            }

            var refs = ReadRefs(folder, warnings);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var snapshot in SafeList(folder.SnapshotsPath, warnings, repoName, directories: true))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var commit = Path.GetFileName(snapshot);
                if (!HubNames.IsCommitId(commit))
                {
                    warnings.Add(new HubCacheWarning(snapshot, $"{repoName}: snapshot folder '{commit}' is not named by a 40-hex commit id; not read.", repoName));
                    continue;
                }

                if (CacheFiles.IsLink(snapshot))
                {
                    warnings.Add(new HubCacheWarning(snapshot, $"{repoName}: snapshot folder {commit} is a link; not followed.", repoName, isLink: true));
                    continue;
                }

                seen.Add(commit);
                var names = refs.TryGetValue(commit, out var list) ? (IReadOnlyList<string>)list.OrderBy(n => n, StringComparer.Ordinal).ToList() : Array.Empty<string>();
                revisions.Add(new HubScannedRevision(folder.Repo, commit, names, snapshot));
                foreach (var (file, repoPath) in SnapshotFiles(folder, snapshot, warnings, cancellationToken))
                {
                    if (Describe(folder, commit, names, file, repoPath, blobsLinked, warnings) is { } entry)
                    {
                        entries.Add(entry);
                    }
                }
            }

            foreach (var dangling in refs.Where(r => !seen.Contains(r.Key)))
            {
                warnings.Add(new HubCacheWarning(folder.RefsPath, $"{repoName}: ref(s) {string.Join(", ", dangling.Value)} point at commit {dangling.Key}, which has no snapshot.", repoName));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warnings.Add(new HubCacheWarning(folder.Path, $"{repoName}: could not be read completely: {ex.Message}", repoName));
        }
    }

    /// <summary>Every file below a snapshot folder with its <c>/</c>-separated path in the repo; directory links are reported, not walked.</summary>
    internal static IEnumerable<(string File, string RepoPath)> SnapshotFiles(HubRepoFolder folder, string snapshot, List<HubCacheWarning> warnings, CancellationToken cancellationToken)
    {
        var pending = new Stack<(string Directory, string Prefix)>();
        pending.Push((snapshot, string.Empty));
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (directory, prefix) = pending.Pop();
            foreach (var child in SafeList(directory, warnings, folder.Repo.Id, directories: true))
            {
                var name = Path.GetFileName(child);
                if (CacheFiles.IsLink(child))
                {
                    warnings.Add(new HubCacheWarning(child, $"{folder.Repo}: '{prefix + name}' is a link to a folder; not followed.", folder.Repo.Id, isLink: true));
                    continue;
                }

                pending.Push((child, prefix + name + "/"));
            }

            foreach (var file in SafeList(directory, warnings, folder.Repo.Id, directories: false))
            {
                var name = Path.GetFileName(file);
                if (!Ignored.Contains(name))
                {
                    yield return (file, prefix + name);
                }
            }
        }
    }

    /// <summary>
    /// The blob id a snapshot link names, when its target is exactly <c>blobs/&lt;id&gt;</c> of the same repo
    /// (resolved lexically: no folder on the way is a link, so that is where it really points).
    /// </summary>
    internal static string? LinkedBlobId(HubRepoFolder folder, string linkPath)
    {
        var target = FileLinks.ReadTarget(linkPath);
        if (string.IsNullOrEmpty(target) || Path.IsPathRooted(target))
        {
            return null;
        }

        var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(linkPath)!, target!.Replace('/', Path.DirectorySeparatorChar)));
        var name = Path.GetFileName(resolved);
        return HubNames.IsBlobId(name) && string.Equals(Path.GetDirectoryName(resolved), folder.BlobsPath, StringComparison.Ordinal) ? name : null;
    }

    private static HubCacheEntry? Describe(HubRepoFolder folder, string commit, IReadOnlyList<string> refs, string file, string repoPath, bool blobsLinked,
        List<HubCacheWarning> warnings)
    {
        var repoName = folder.Repo.Id;
        if (!HubNames.IsValidRepoPath(repoPath))
        {
            warnings.Add(new HubCacheWarning(file, $"{repoName}: '{repoPath}' is not a valid path in a repo; not read.", repoName));
            return null;
        }

        if (!CacheFiles.IsLink(file))
        {
            var copy = new FileInfo(file);
            return new HubCacheEntry(folder.Repo, folder.CacheRoot, commit, refs, repoPath, copy.Length, null, file, file, copy.LastWriteTimeUtc, isLink: false);
        }

        var blobId = blobsLinked ? null : LinkedBlobId(folder, file);
        if (blobId is null)
        {
            warnings.Add(new HubCacheWarning(file, $"{repoName}@{commit}: '{repoPath}' is a link that does not point at a blob of this repo (blobs/<id>); not followed.", repoName, isLink: true));
            return null;
        }

        var blobPath = folder.Blob(blobId);
        if (CacheFiles.IsLink(blobPath))
        {
            warnings.Add(new HubCacheWarning(blobPath, $"{repoName}: blob {blobId} is itself a link; not followed.", repoName, isLink: true));
            return null;
        }

        var blob = new FileInfo(blobPath);
        if (!blob.Exists)
        {
            warnings.Add(new HubCacheWarning(file, $"{repoName}@{commit}: '{repoPath}' links to blob {blobId}, which is missing.", repoName));
            return new HubCacheEntry(folder.Repo, folder.CacheRoot, commit, refs, repoPath, 0, blobId, blobPath, file, DateTimeOffset.MinValue, isLink: true);
        }

        return new HubCacheEntry(folder.Repo, folder.CacheRoot, commit, refs, repoPath, blob.Length, blobId, blobPath, file, blob.LastWriteTimeUtc, isLink: true);
    }

    private static void ReadRefsBelow(HubRepoFolder folder, string directory, string prefix, int depth, Dictionary<string, List<string>> refs, List<HubCacheWarning> warnings)
    {
        if (depth > MaxRefDepth)
        {
            warnings.Add(new HubCacheWarning(directory, $"{folder.Repo}: refs nested deeper than {MaxRefDepth} folders; not read.", folder.Repo.Id));
            return;
        }

        foreach (var file in SafeList(directory, warnings, folder.Repo.Id, directories: false))
        {
            var name = prefix + Path.GetFileName(file);
            if (!HubNames.IsValidRevision(name))
            {
                warnings.Add(new HubCacheWarning(file, $"{folder.Repo}: '{name}' is not a valid ref name; ignored.", folder.Repo.Id));
                continue;
            }

            if (ReadRefFile(file, out var commit, out var notRegular) is { } problem)
            {
                warnings.Add(new HubCacheWarning(file, $"{folder.Repo}: ref '{name}' {problem}; ignored.", folder.Repo.Id, isNotRegularFile: notRegular));
                continue;
            }

            if (!refs.TryGetValue(commit!, out var names))
            {
                refs[commit!] = names = new List<string>();
            }

            names.Add(name);
        }

        foreach (var child in SafeList(directory, warnings, folder.Repo.Id, directories: true))
        {
            if (CacheFiles.IsLink(child))
            {
                warnings.Add(new HubCacheWarning(child, $"{folder.Repo}: refs folder '{prefix + Path.GetFileName(child)}' is a link; not followed.", folder.Repo.Id, isLink: true));
                continue;
            }

            ReadRefsBelow(folder, child, prefix + Path.GetFileName(child) + "/", depth + 1, refs, warnings);
        }
    }

    /// <returns>Null when the file holds a commit id (then in <paramref name="commit"/>), else what is wrong with it.</returns>
    private static string? ReadRefFile(string path, out string? commit, out bool notRegular)
    {
        commit = null;
        notRegular = false;
        try
        {
            if (CacheFiles.IsLink(path))
            {
                return "is a link";
            }

            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return "does not exist";
            }

            if (info.Length > HubNames.MaxRefFileBytes)
            {
                return $"is larger than {HubNames.MaxRefFileBytes} bytes";
            }

            var bytes = RootGuard.ReadBounded(path, HubNames.MaxRefFileBytes);
            var text = bytes is null ? string.Empty : Encoding.ASCII.GetString(bytes).Trim();
            if (!HubNames.IsCommitId(text))
            {
                return "does not hold a 40-hex commit id";
            }

            commit = text;
            return null;
        }
        catch (NotARegularFileException ex)
        {
            notRegular = true;
            return $"is {NotARegularFileException.Describe(ex.FileKind)}, not a regular file";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "cannot be read: " + ex.Message;
        }
    }

    /// <summary>Sub-folders or files of <paramref name="directory"/>, sorted; a folder that vanished or cannot be read is a warning.</summary>
    private static IReadOnlyList<string> SafeList(string directory, List<HubCacheWarning> warnings, string? repo, bool directories)
    {
        try
        {
            if (!Directory.Exists(directory))
            {
                return Array.Empty<string>();
            }

            var found = directories ? Directory.GetDirectories(directory) : Directory.GetFiles(directory);
            Array.Sort(found, StringComparer.Ordinal);
            return found;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warnings.Add(new HubCacheWarning(directory, $"'{directory}' could not be listed: {ex.Message}", repo));
            return Array.Empty<string>();
        }
    }
}
