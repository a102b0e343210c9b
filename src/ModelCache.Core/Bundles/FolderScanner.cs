using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Store;
using ModelCache.Layouts;

namespace ModelCache.Bundles;

/// <summary>
/// Finds catalog models in any folder someone hands over: uniface's flat cache, a plain folder of (renamed) model
/// files, or a copied cache root. The folder is input from a stranger, so the walk follows no link, goes at most
/// <see cref="MaxDepth"/> folders down (a native root's <c>models/Family/Member/file</c>), looks at no more than
/// <see cref="MaxEntries"/> entries, and never reads metadata: a file is a candidate by its catalog file name and
/// size, or by its SHA-256 when its size is some catalog model's. Candidates are verified again when imported.
/// </summary>
public sealed class FolderScanner
{
    /// <summary>Folders below the root that are walked: 3 reaches <c>models/Family/Member/&lt;file&gt;</c>.</summary>
    public const int MaxDepth = 3;

    /// <summary>Files and folders looked at, at most, so a folder of junk costs bounded time.</summary>
    public const int MaxEntries = 10_000;

    private const string LockSuffix = ".lock";

    private readonly ModelCatalog _catalog;
    private readonly int _maxEntries;

    public FolderScanner(ModelCatalog catalog, int maxEntries = MaxEntries)
    {
        _catalog = catalog;
        _maxEntries = maxEntries;
    }

    public async Task<FolderScan> ScanAsync(string folder, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
        {
            throw new ModelCacheException("ImportSourceNotFound", ModelCacheErrorKind.NotFound, $"The folder '{root}' does not exist.", "Check the path given to -LiteralPath.");
        }

        var (files, links, special, limitReached) = Walk(root, cancellationToken);
        var matches = new List<FolderMatch>();
        var unmatched = special.Select(s => (s.File, $"it is {NotARegularFileException.Describe(s.Kind)}, not a regular file; not read")).ToList();
        var taken = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        // By name first, so a file under its catalog name stands for its model even when a renamed copy sits beside it.
        var rest = new List<(string File, long Size)>();
        foreach (var (file, size) in files)
        {
            var model = _catalog.FindByFileName(Path.GetFileName(file)).FirstOrDefault(m => (m.Size ?? size) == size && !taken.Contains(m.Name));
            if (model is null)
            {
                rest.Add((file, size));
                continue;
            }

            taken.Add(model.Name);
            matches.Add(new FolderMatch(model, file, size, byHash: false));
        }

        var layout = new FlatMirrorLayout(root);
        foreach (var (file, size) in rest)
        {
            // Only sizes of models still unmatched are worth hashing; a size no catalog model has cannot match.
            var sameSize = _catalog.Models.Where(m => m.Size == size && !taken.Contains(m.Name)).ToList();
            if (sameSize.Count == 0)
            {
                unmatched.Add((file, _catalog.FindByFileName(Path.GetFileName(file)).Count > 0 ? "named like a catalog model, but of another size" : "no catalog model has its size"));
                continue;
            }

            if (!layout.IsContained(file))
            {
                links.Add(file);
                continue;
            }

            string sha;
            try
            {
                sha = await Sha256Hasher.HashFileAsync(file, null, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                unmatched.Add((file, "it cannot be read: " + ex.Message));
                continue;
            }

            var model = sameSize.FirstOrDefault(m => m.Sha256 == sha);
            if (model is null)
            {
                unmatched.Add((file, $"its SHA-256 {sha} is no catalog model's"));
                continue;
            }

            taken.Add(model.Name);
            matches.Add(new FolderMatch(model, file, size, byHash: true));
        }

        return new FolderScan(root, matches, unmatched, links, limitReached);
    }

    /// <summary>Regular files under <paramref name="root"/>, breadth first in name order; links and special files (FIFOs, sockets, devices) are listed apart, not entered or opened.</summary>
    private (List<(string File, long Size)> Files, List<string> Links, List<(string File, FileKind Kind)> Special, bool LimitReached) Walk(string root, CancellationToken cancellationToken)
    {
        var files = new List<(string, long)>();
        var links = new List<string>();
        var special = new List<(string, FileKind)>();
        var seen = 0;
        var pending = new Queue<(string Folder, int Depth)>();
        pending.Enqueue((root, 0));
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (folder, depth) = pending.Dequeue();
            foreach (var entry in Entries(folder, _maxEntries - seen + 1))
            {
                if (++seen > _maxEntries)
                {
                    return (files, links, special, true);
                }

                if (CacheFiles.IsLink(entry))
                {
                    links.Add(entry);
                }
                else if (Directory.Exists(entry))
                {
                    if (depth < MaxDepth)
                    {
                        pending.Enqueue((entry, depth + 1));
                    }
                }
                else if (IsOwnFile(Path.GetFileName(entry)))
                {
                    continue;
                }
                else if (RegularFile.KindOf(entry) is not (FileKind.Regular or FileKind.Unknown or FileKind.Missing) and var kind)
                {
                    special.Add((entry, kind)); // A FIFO, socket or device: listed as not imported, never opened.
                }
                else if (Length(entry) is { } size)
                {
                    files.Add((entry, size));
                }
            }
        }

        return (files, links, special, false);
    }

    /// <summary>What ModelCache (or another tool) keeps beside models: metadata, partial downloads, temporary files, locks, hidden files.</summary>
    private static bool IsOwnFile(string name) =>
        CacheFiles.IsStoreFileName(name) || name.EndsWith(LockSuffix, StringComparison.Ordinal) || name.StartsWith(".", StringComparison.Ordinal);

    /// <summary>At most <paramref name="limit"/> entries of <paramref name="folder"/> (never the whole of a huge listing), in name order.</summary>
    private static IEnumerable<string> Entries(string folder, int limit)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(folder).Take(limit).OrderBy(e => e, StringComparer.Ordinal).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>(); // Vanished or unreadable: nothing there to import.
        }
    }

    private static long? Length(string file)
    {
        try
        {
            return new FileInfo(file).Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
