using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Layouts;

namespace ModelCache.HuggingFace;

/// <summary>
/// The Hugging Face hub cache behind the backend seam. Files are the files of cached revisions (<see cref="HubCacheEntry"/>);
/// a check hashes a blob against its name (SHA-256 for LFS files, git blob SHA-1 for small ones) and records nothing; a
/// removal works as <c>hf cache rm</c> does: a repo or some of its revisions, a blob only when no remaining revision links
/// to it, refs pointing at a removed revision too. Every path is built from validated names, and nothing is deleted or read
/// outside the repo's folder or through a link (<see cref="RootGuard"/>); links are deleted themselves, never what they point at.
/// </summary>
public sealed class HubCacheBackend : ICacheBackend
{
    public const string RemoveAction = "Remove from the Hugging Face hub cache";

    public const string PruneAction = "Remove detached revision from the Hugging Face hub cache";

    /// <summary>How long to wait for a hub client holding a blob's lock.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromMinutes(5);

    public HubCacheBackend(string root)
    {
        Root = PathRules.FullPath(root);
    }

    public CacheLayoutKind Kind => CacheLayoutKind.HuggingFace;

    public string Root { get; }

    public TimeSpan LockTimeout { get; set; } = DefaultLockTimeout;

    public Task<IReadOnlyList<CachedFile>> ListAsync(ModelCatalog catalog, ICollection<ModelCacheException> problems, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<CachedFile>>(Scan(null, problems, cancellationToken).Cast<CachedFile>().ToList());

    /// <summary>A plain name that is no file's name is a repo id: every file of its cached revisions.</summary>
    public Selection<CachedFile> Select(ModelCatalog catalog, IReadOnlyList<CachedFile> files, string name) =>
        NameSelector.SelectFiles(files, name, plain => HubRepoId.TryParse(plain, HubRepoType.Model, out _)
            ? NameSelector.Selected(files.Where(f => string.Equals(f.ShortName, plain, StringComparison.OrdinalIgnoreCase)).ToList(), () => NotCached(plain))
            : NameSelector.Failed(HubRepoId.TryParse(RepoPart(plain), HubRepoType.Model, out _) ? NotCached(plain) : NameInvalid(plain)));

    /// <summary>Only the repo a plain name (<c>org/name</c> or <c>org/name@commit:path</c>) belongs to is scanned.</summary>
    public Task<Selection<CachedFile>> FindAsync(ModelCatalog catalog, string name, ICollection<ModelCacheException> problems, CancellationToken cancellationToken)
    {
        if (!HubRepoId.TryParse(RepoPart(name), HubRepoType.Model, out var repo))
        {
            return Task.FromResult(NameSelector.Failed(NameInvalid(name)));
        }

        return Task.FromResult(Select(catalog, Scan(repo, problems, cancellationToken).Cast<CachedFile>().ToList(), name));
    }

    /// <summary>The repo id of a file name <c>org/name@commit:path</c> (the name itself when it has no <c>@</c>).</summary>
    private static string RepoPart(string name) => name.IndexOf('@') is var at and > 0 ? name.Substring(0, at) : name;

    public async Task<CachedFileCheck> VerifyAsync(CachedFile file, ModelCatalog catalog, IProgress<long>? bytesHashed, CancellationToken cancellationToken) =>
        new(file, await VerifyAsync(Own(file), bytesHashed, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Hashes the blob behind <paramref name="entry"/>. The path is derived again from the entry's validated repo and blob
    /// id (never taken from the entry). A copy (no blob id) is Valid when its SHA-256 or git blob SHA-1 names a blob of the
    /// repo, otherwise Unknown with its SHA-256 as Actual.
    /// </summary>
    public static async Task<ModelHashResult> VerifyAsync(HubCacheEntry entry, IProgress<long>? bytesHashed = null, CancellationToken cancellationToken = default)
    {
        var folder = new HubRepoFolder(entry.CacheRoot, entry.RepoId);
        var path = entry.BlobId is { } id ? folder.Blob(id) : folder.SnapshotFile(entry.Revision, entry.FilePath);
        if (!File.Exists(path) || !new RootGuard(folder.Path).IsContained(path))
        {
            // A link here was planted after listing: it is not read through.
            return new ModelHashResult(entry.Name, path, entry.BlobId, null, HashStatus.Missing);
        }

        try
        {
            using var stream = RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            if (entry.BlobId is { } blobId)
            {
                using var hash = GitBlobHash.ForBlobId(blobId, stream.Length);
                await HashAsync(stream, hash, null, bytesHashed, cancellationToken).ConfigureAwait(false);
                var actual = Sha256Hasher.ToHex(hash.GetHashAndReset());
                return new ModelHashResult(entry.Name, path, blobId, actual,
                    string.Equals(actual, blobId, StringComparison.Ordinal) ? HashStatus.Valid : HashStatus.Mismatch);
            }

            // A copy: either kind of id may name it, so both are computed in one read.
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var gitSha1 = GitBlobHash.Start(stream.Length);
            await HashAsync(stream, sha256, gitSha1, bytesHashed, cancellationToken).ConfigureAwait(false);
            var sha256Hex = Sha256Hasher.ToHex(sha256.GetHashAndReset());
            foreach (var candidate in new[] { sha256Hex, Sha256Hasher.ToHex(gitSha1.GetHashAndReset()) })
            {
                if (File.Exists(folder.Blob(candidate)) && !RootGuard.IsLink(folder.Blob(candidate)))
                {
                    return new ModelHashResult(entry.Name, path, candidate, candidate, HashStatus.Valid);
                }
            }

            return new ModelHashResult(entry.Name, path, null, sha256Hex, HashStatus.Unknown);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new ModelHashResult(entry.Name, path, entry.BlobId, null, HashStatus.Missing);
        }
    }

    public string? RepairCommand(CachedFile file) =>
        file is HubCacheEntry entry ? $"Save-Model -HuggingFaceRepo {entry.Repo} -File '{entry.FilePath}' -Revision {entry.Revision} -Force" : $"Save-Model -HuggingFaceRepo {file.ShortName} -Force";

    /// <summary>
    /// Files (each blob counted once, however many revisions link to it), repos (as families), interrupted downloads
    /// (<c>blobs/*.incomplete</c>, <c>blobs/*.partial</c>) and links or other things refused, judged as a catalog cache is. Nothing is hashed: a hub
    /// cache records no checks, so its files count as never verified.
    /// </summary>
    public CacheSummary Summarize(ModelCatalog catalog, CacheHealthThresholds thresholds, ICollection<ModelCacheException> problems, CancellationToken cancellationToken)
    {
        var summary = new CacheSummary(Root, Kind) { Thresholds = thresholds };
        var warnings = new List<HubCacheWarning>();
        var entries = Scan(null, problems, cancellationToken, warnings);
        var byRepo = new SortedDictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in entries)
        {
            byRepo[entry.Repo] = (byRepo.TryGetValue(entry.Repo, out var count) ? count : 0) + 1;
        }

        // A link whose blob is missing takes no space: counted as the repo summary (hf cache scan) counts, not at all.
        var blobs = entries.GroupBy(e => e.BlobPath, PathRules.Comparer).Select(g => g.First()).Where(e => !e.IsLink || File.Exists(e.BlobPath)).ToList();
        summary.EntryCount = entries.Count;
        summary.TotalBytes = blobs.Sum(b => b.Size);
        summary.NeverVerified = entries.Count;
        summary.NotRegularFiles = warnings.Count(w => w.IsNotRegularFile);
        summary.ByFamily = byRepo;
        var stale = 0;
        foreach (var partial in Incomplete())
        {
            summary.PartialCount++;
            summary.PartialBytes += partial.Length;
            var written = new DateTimeOffset(partial.LastWriteTimeUtc, TimeSpan.Zero);
            summary.OldestPartial = summary.OldestPartial is { } oldest && oldest <= written ? oldest : written;
            stale += DateTimeOffset.UtcNow - written >= CacheInspector.StalePartialAge ? 1 : 0;
        }

        summary.TotalBytes += summary.PartialBytes;
        summary.FileCount = blobs.Count + summary.PartialCount;
        summary.FreeSpace = Directory.Exists(Root) ? NativeFileSystem.Current.GetAvailableFreeSpace(Root) : null;
        CacheInspector.Judge(summary, thresholds, stale);
        return summary;
    }

    /// <summary>
    /// Every cached repo summed up as <c>hf cache scan</c> does, or those whose id matches <paramref name="names"/> (wildcards
    /// allowed; an entry name <c>org/name@commit:path</c> stands for its repo). What the scan refused becomes a problem each,
    /// as does a plain name that matches no repo (<c>HubRepoNotCached</c>) or is no repo id (<c>HubRepoNameInvalid</c>).
    /// </summary>
    public IReadOnlyList<HubCacheRepo> ListRepos(IReadOnlyList<string>? names, ICollection<(ModelCacheException Error, object Input)> problems, CancellationToken cancellationToken)
    {
        var scan = HubCacheScanner.Scan(Root, null, cancellationToken);
        foreach (var warning in scan.Warnings)
        {
            problems.Add((warning.ToException(), warning.Path));
        }

        var repos = HubCacheRepo.FromScan(scan);
        return names is null ? repos : SelectRepos(repos, names, r => r.Repo, problems);
    }

    /// <summary>The items of <paramref name="all"/> whose repo id matches one of <paramref name="names"/>, each once, in their order.</summary>
    private List<T> SelectRepos<T>(IReadOnlyList<T> all, IReadOnlyList<string> names, Func<T, string> repoOf, ICollection<(ModelCacheException Error, object Input)> problems)
    {
        var chosen = new HashSet<int>();
        foreach (var name in names)
        {
            var pattern = RepoPart(name);
            if (!WildcardMatcher.HasWildcard(pattern) && !HubRepoId.TryParse(pattern, HubRepoType.Model, out _))
            {
                problems.Add((NameInvalid(name), name));
                continue;
            }

            var matcher = new WildcardMatcher(pattern);
            var matched = Enumerable.Range(0, all.Count).Where(i => matcher.IsMatch(repoOf(all[i]))).ToList();
            if (matched.Count == 0 && !WildcardMatcher.HasWildcard(pattern))
            {
                problems.Add((NotCached(pattern), name));
            }

            chosen.UnionWith(matched);
        }

        return chosen.OrderBy(i => i).Select(i => all[i]).ToList();
    }

    /// <summary>
    /// What <c>hf cache prune</c> removes: every revision no ref points at, of every repo or of the repos <paramref name="names"/>
    /// match. One plan per revision, so each is confirmed by itself; plans are cumulative within a repo (each assumes the
    /// repo's earlier detached revisions go too), so a blob shared only by detached revisions is planned with the last of
    /// them, and the sizes add up to what pruning them all frees. A blob is deleted only if, when its turn comes, no
    /// snapshot left links to it (a revision declined keeps its blobs). A repo whose refs cannot all be read (a link,
    /// a FIFO, a file that holds no commit id, a name that is not valid) is not pruned: any of its revisions might be the
    /// one the unreadable ref names (<c>HubRefsUnreadable</c>).
    /// </summary>
    public IReadOnlyList<HubRemovalPlan> PlanDetached(IReadOnlyList<string>? names, ICollection<(ModelCacheException Error, object Input)> problems, CancellationToken cancellationToken)
    {
        var scan = HubCacheScanner.Scan(Root, null, cancellationToken);
        var repos = scan.Revisions.GroupBy(r => r.Repo.FolderName, StringComparer.Ordinal).Select(g => g.ToList()).ToList();
        var plans = new List<HubRemovalPlan>();
        foreach (var revisions in names is null ? repos : SelectRepos(repos, names, g => g[0].Repo.Id, problems))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var folder = new HubRepoFolder(Root, revisions[0].Repo);
            var refWarnings = new List<HubCacheWarning>();
            HubCacheScanner.ReadRefs(folder, refWarnings);
            var detached = revisions.Where(r => r.Refs.Count == 0).Select(r => r.Commit).ToList();
            if (detached.Count == 0)
            {
                continue;
            }

            if (refWarnings.Count > 0)
            {
                var error = new ModelCacheException("HubRefsUnreadable", ModelCacheErrorKind.InvalidData,
                    $"{folder.Repo}: its detached revisions were not removed, because a ref could not be read and may name one of them: {refWarnings[0].Message}",
                    $"Repair or remove what is wrong under '{folder.RefsPath}' (a ref is a regular file holding a 40-hex commit id), then run the command again.");
                error.Data["Path"] = refWarnings[0].Path;
                problems.Add((error, folder.Repo.Id));
                continue;
            }

            var entries = scan.Entries.Where(e => e.RepoId.Equals(folder.Repo)).ToList();
            var gone = new HashSet<string>(StringComparer.Ordinal);
            foreach (var commit in detached)
            {
                gone.Add(commit);
                var kept = new HashSet<string>(entries.Where(e => !gone.Contains(e.Revision) && e.BlobId is not null).Select(e => e.BlobId!), StringComparer.Ordinal);
                var blobs = entries.Where(e => e.Revision == commit && e.BlobId is not null && !kept.Contains(e.BlobId))
                    .Select(e => e.BlobId!).Distinct(StringComparer.Ordinal).Where(id => File.Exists(folder.Blob(id))).ToList();
                var warnings = new List<HubCacheWarning>();
                var files = HubCacheScanner.SnapshotFiles(folder, folder.Snapshot(commit), warnings, cancellationToken).Select(f => f.File).ToList();
                var bytes = blobs.Sum(id => SizeOf(folder.Blob(id))) + files.Where(f => !RootGuard.IsLink(f)).Sum(SizeOf);
                plans.Add(new HubRemovalPlan(Root, folder.Repo, folder.Path, false, new[] { commit }, Array.Empty<string>(), files, blobs.Select(folder.Blob).ToList(), bytes,
                    detached: true));
            }
        }

        return plans;
    }

    public Task<RemovalPlan> PlanRemovalAsync(ModelCatalog catalog, RemovalRequest request, CancellationToken cancellationToken)
    {
        if ((request.Filter is { IsEmpty: false }) || request.Partial)
        {
            throw new ModelCacheException("LayoutNotSupported", ModelCacheErrorKind.InvalidArgument,
                "-OlderThan, -NotUsedSince, -Task, -Family, -Partial and -Orphaned are not available for the Hugging Face hub cache.",
                "Name the repositories or revisions to remove with -Name and -Revision.");
        }

        var problems = new List<(ModelCacheException, object)>();
        if (request.Detached)
        {
            var detached = PlanDetached(request.Names.Count > 0 ? request.Names : null, problems, cancellationToken);
            var pruned = detached.Select(p => new RemovalItem(p.Describe(), PruneAction, p.Bytes, p, p.Repo)).ToList();
            return Task.FromResult(new RemovalPlan(Root, pruned, Array.Empty<string>(), problems, "revisions", PruneAction));
        }

        var wanted = new List<(HubRepoId? Repo, IReadOnlyCollection<string>? Revisions, object Input, ModelCacheException? Error)>();
        if (request.Files.Count > 0)
        {
            // Each piped file stands for its revision: one plan per repo, for the revisions its files belong to.
            foreach (var group in request.Files.Select(Own).GroupBy(e => e.RepoId))
            {
                wanted.Add((group.Key, group.Select(e => e.Revision).Distinct(StringComparer.Ordinal).ToList(), group.First(), null));
            }
        }
        else if (request.All)
        {
            // Every repo folder of the root; other folders (and .locks) are left alone.
            foreach (var name in Directory.Exists(Root) ? Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal) : Enumerable.Empty<string>())
            {
                if (HubRepoId.TryParseFolderName(name, out var repo))
                {
                    wanted.Add((repo!, null, repo!.Id, null));
                }
            }
        }
        else
        {
            IReadOnlyList<CachedFile>? files = null;
            foreach (var name in request.Names)
            {
                // A plain repo id names its folder (even one that lists nothing, such as a link); anything else selects files.
                if (!WildcardMatcher.HasWildcard(name) && HubRepoId.TryParse(name, HubRepoType.Model, out var repo))
                {
                    wanted.Add((repo!, request.Revisions, name, null));
                    continue;
                }

                files ??= Scan(null, new List<ModelCacheException>(), cancellationToken).Cast<CachedFile>().ToList();
                var selection = Select(catalog, files, name);
                if (selection.Error is not null)
                {
                    wanted.Add((null, null, name, selection.Error)); // reported in the order of the names
                }

                foreach (var group in selection.Items.Cast<HubCacheEntry>().GroupBy(e => e.RepoId))
                {
                    wanted.Add((group.Key, request.Revisions ?? group.Select(e => e.Revision).Distinct(StringComparer.Ordinal).ToList(), name, null));
                }
            }
        }

        var items = new List<RemovalItem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (repo, revisions, input, error) in wanted)
        {
            if (repo is null)
            {
                problems.Add((error!, input));
                continue;
            }

            try
            {
                var plan = Plan(repo, revisions);
                if (seen.Add(plan.Describe()))
                {
                    items.Add(new RemovalItem(plan.Describe(), RemoveAction, plan.Bytes, plan, input));
                }
            }
            catch (ModelCacheException ex)
            {
                problems.Add((ex, input));
            }
        }

        return Task.FromResult(new RemovalPlan(Root, items, Array.Empty<string>(), problems, "repos", "Remove every cached Hugging Face repo"));
    }

    public async Task<RemovalOutcome> RemoveAsync(RemovalItem item, CancellationToken cancellationToken)
    {
        var plan = item.Subject as HubRemovalPlan ?? throw new ArgumentException($"'{item.Subject}' is not a hub removal.", nameof(item));
        var result = await ExecuteAsync(plan, cancellationToken).ConfigureAwait(false);
        return new RemovalOutcome(item, result, note: $"Removed {plan.Describe()}: {result.FilesRemoved} files, {result.BytesFreed} bytes freed"
            + (result.BlobsKept > 0 ? $", {result.BlobsKept} blobs kept (still linked by a revision that stays)." : ".")
            + (result.RepoRemoved && !plan.WholeRepo ? $" It was the last revision of {plan.Repo}: the repo folder went too." : string.Empty));
    }

    /// <summary>Interrupted downloads are the hub client's to resume: a removal leaves them.</summary>
    public Task<long> SweepAbandonedAsync(ModelCatalog catalog, CancellationToken cancellationToken) => Task.FromResult(0L);

    /// <summary>What removing <paramref name="repo"/> (or only <paramref name="revisions"/>, commit ids or ref names) would delete.</summary>
    /// <exception cref="ModelCacheException"><c>HubRepoNotCached</c>, <c>HubRevisionNotCached</c>, <c>HubRevisionInvalid</c>.</exception>
    public HubRemovalPlan Plan(HubRepoId repo, IReadOnlyCollection<string>? revisions = null)
    {
        var folder = new HubRepoFolder(Root, repo);
        if (!Directory.Exists(folder.Path) && !RootGuard.IsLink(folder.Path))
        {
            throw NotCached(repo.ToString());
        }

        if (RootGuard.IsLink(folder.Path))
        {
            // Only the link itself is in the root: it goes, whatever it points at stays.
            return new HubRemovalPlan(folder.CacheRoot, repo, folder.Path, true, Array.Empty<string>(), Array.Empty<string>(), new[] { folder.Path }, Array.Empty<string>(), 0);
        }

        var warnings = new List<HubCacheWarning>();
        var refs = HubCacheScanner.ReadRefs(folder, warnings);
        var snapshots = ListSnapshots(folder);
        var removed = revisions is { Count: > 0 } ? revisions.Select(r => ResolveRevision(folder, r, snapshots)).Distinct(StringComparer.Ordinal).ToList() : snapshots.ToList();
        if (removed.Count == snapshots.Count)
        {
            return PlanWholeRepo(folder, removed, refs);
        }

        var entries = HubCacheScanner.Scan(folder.CacheRoot, repo).Entries;
        var kept = new HashSet<string>(entries.Where(e => !removed.Contains(e.Revision) && e.BlobId is not null).Select(e => e.BlobId!), StringComparer.Ordinal);
        var goingEntries = entries.Where(e => removed.Contains(e.Revision)).ToList();
        var blobs = goingEntries.Where(e => e.BlobId is not null && !kept.Contains(e.BlobId)).Select(e => e.BlobId!).Distinct(StringComparer.Ordinal).ToList();
        var files = removed.SelectMany(commit => HubCacheScanner.SnapshotFiles(folder, folder.Snapshot(commit), warnings, CancellationToken.None).Select(f => f.File)).ToList();
        var bytes = blobs.Sum(id => SizeOf(folder.Blob(id))) + files.Where(f => !RootGuard.IsLink(f)).Sum(SizeOf);
        var refNames = refs.Where(r => removed.Contains(r.Key)).SelectMany(r => r.Value).OrderBy(n => n, StringComparer.Ordinal).ToList();
        return new HubRemovalPlan(folder.CacheRoot, repo, folder.Path, false, removed, refNames, files, blobs.Select(folder.Blob).ToList(), bytes);
    }

    /// <summary>Carries out <paramref name="plan"/>, taking each blob's hub lock before deleting it.</summary>
    public async Task<HubRemovalResult> ExecuteAsync(HubRemovalPlan plan, CancellationToken cancellationToken = default)
    {
        var folder = new HubRepoFolder(plan.CacheRoot, plan.RepoId);
        var guard = new RootGuard(folder.Path);
        try
        {
            if (plan.WholeRepo)
            {
                if (RootGuard.IsLink(folder.Path))
                {
                    DeleteLink(folder.Path);
                    return new HubRemovalResult(plan, 0, 1, 0);
                }

                var (bytes, count) = DeleteTree(guard, folder.Path);
                return new HubRemovalResult(plan, bytes, count, 0);
            }

            long freed = 0;
            var removedCount = 0;
            foreach (var commit in plan.Revisions)
            {
                var (bytes, count) = DeleteTree(guard, folder.Snapshot(commit));
                freed += bytes;
                removedCount += count;
                DeleteTree(guard, folder.NoExist(commit));
            }

            foreach (var name in plan.Refs)
            {
                if (DeleteFile(guard, folder.Ref(name)) >= 0)
                {
                    removedCount++;
                }
            }

            // A revision saved since the plan may link to a planned blob: look again, under each blob's lock.
            var keptBlobs = 0;
            foreach (var blobPath in plan.Blobs)
            {
                var blobId = Path.GetFileName(blobPath);
                using var blobLock = await FileLock.AcquireAsync(folder.PrepareBlobLock(blobId), LockTimeout, null, cancellationToken).ConfigureAwait(false);
                if (HubCacheScanner.Scan(folder.CacheRoot, folder.Repo, cancellationToken).Entries.Any(e => e.BlobId == blobId))
                {
                    keptBlobs++;
                    continue;
                }

                var size = SizeOf(folder.Blob(blobId));
                if (DeleteFile(guard, folder.Blob(blobId)) >= 0)
                {
                    freed += size;
                    removedCount++;
                }
            }

            // A pruned revision that was the repo's last snapshot takes the repo with it, unless a download is under way there.
            var repoRemoved = false;
            if (plan.Detached && Directory.Exists(folder.SnapshotsPath) && !RootGuard.IsLink(folder.SnapshotsPath) && !Directory.EnumerateFileSystemEntries(folder.SnapshotsPath).Any()
                && !(Directory.Exists(folder.BlobsPath) && (Directory.EnumerateFiles(folder.BlobsPath, "*" + HubRepoFolder.IncompleteSuffix).Any()
                    || Directory.EnumerateFiles(folder.BlobsPath, "*" + CacheFiles.PartialSuffix).Any())))
            {
                var (bytes, count) = DeleteTree(guard, folder.Path);
                freed += bytes;
                removedCount += count;
                repoRemoved = true;
            }

            return new HubRemovalResult(plan, freed, removedCount, keptBlobs, repoRemoved);
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
        {
            throw CacheIOFailure.From(ex, plan.Repo);
        }
    }

    /// <summary>Lists the root (or one repo); whatever the scanner refused becomes one problem each, naming its path.</summary>
    public IReadOnlyList<HubCacheEntry> Scan(HubRepoId? repo, ICollection<ModelCacheException> problems, CancellationToken cancellationToken, List<HubCacheWarning>? warnings = null)
    {
        var scan = HubCacheScanner.Scan(Root, repo, cancellationToken);
        foreach (var warning in scan.Warnings)
        {
            warnings?.Add(warning);
            problems.Add(warning.ToException());
        }

        return scan.Entries;
    }

    private HubCacheEntry Own(CachedFile file) => file as HubCacheEntry
        ?? throw new ModelCacheException("CachedFileLayoutMismatch", ModelCacheErrorKind.InvalidArgument,
            $"{file.Name} is a {file.Layout} file; the Hugging Face hub cache holds hub files only.", "Pipe it to the command without -Layout, so it acts on the cache it came from.");

    private ModelCacheException NotCached(string repo) => new("HubRepoNotCached", ModelCacheErrorKind.NotFound,
        $"'{repo}' is not in the hub cache '{Root}'.", "Run 'Get-ModelCache -Layout HuggingFace' to list what is cached, or save it with 'Save-Model -HuggingFaceRepo'.");

    private static ModelCacheException NameInvalid(string name) => new("HubRepoNameInvalid", ModelCacheErrorKind.InvalidArgument,
        $"'{name}' is not a Hugging Face repository id.", "Name the repository as 'org/name', or use a wildcard such as 'org/*'.");

    /// <summary>Interrupted downloads in every repo's blobs folder (regular files only).</summary>
    private IEnumerable<FileInfo> Incomplete()
    {
        if (!Directory.Exists(Root))
        {
            yield break;
        }

        foreach (var directory in Directory.GetDirectories(Root))
        {
            if (!HubRepoId.TryParseFolderName(Path.GetFileName(directory), out var repo) || RootGuard.IsLink(directory))
            {
                continue;
            }

            var blobs = new HubRepoFolder(Root, repo!).BlobsPath;
            if (!Directory.Exists(blobs) || RootGuard.IsLink(blobs))
            {
                continue;
            }

            // huggingface_hub's (and one-connection) .incomplete, and blobs fetched in segments (.partial, HubRepoFolder.SegmentedPartial).
            foreach (var file in Directory.GetFiles(blobs, "*" + HubRepoFolder.IncompleteSuffix).Concat(Directory.GetFiles(blobs, "*" + CacheFiles.PartialSuffix)))
            {
                if (!RootGuard.IsLink(file))
                {
                    yield return new FileInfo(file);
                }
            }
        }
    }

    private static HubRemovalPlan PlanWholeRepo(HubRepoFolder folder, IReadOnlyList<string> revisions, Dictionary<string, List<string>> refs)
    {
        var files = new List<string>();
        long bytes = 0;
        foreach (var file in WalkFiles(folder.Path))
        {
            files.Add(file);
            bytes += RootGuard.IsLink(file) ? 0 : SizeOf(file);
        }

        var blobs = files.Where(f => string.Equals(Path.GetDirectoryName(f), folder.BlobsPath, PathRules.Comparison)).ToList();
        var snapshotFiles = files.Where(f => PathRules.IsInside(f, folder.SnapshotsPath)).ToList();
        return new HubRemovalPlan(folder.CacheRoot, folder.Repo, folder.Path, true, revisions, refs.SelectMany(r => r.Value).OrderBy(n => n, StringComparer.Ordinal).ToList(),
            snapshotFiles, blobs, bytes);
    }

    private static string ResolveRevision(HubRepoFolder folder, string revision, IReadOnlyList<string> snapshots)
    {
        HubNames.ValidateRevision(revision);
        var commit = HubNames.IsCommitId(revision) ? revision : HubCacheScanner.ReadRef(folder, revision);
        if (commit is null || !snapshots.Contains(commit))
        {
            throw new ModelCacheException("HubRevisionNotCached", ModelCacheErrorKind.NotFound,
                $"{folder.Repo} has no cached revision '{revision}' in '{folder.CacheRoot}'.",
                "Run Get-ModelCache -Layout HuggingFace to list the cached revisions (commit ids) and their refs.");
        }

        return commit;
    }

    /// <summary>Snapshot folders named by a commit id (a link named so is listed too: removing it removes only the link).</summary>
    private static IReadOnlyList<string> ListSnapshots(HubRepoFolder folder) =>
        Directory.Exists(folder.SnapshotsPath) && !RootGuard.IsLink(folder.SnapshotsPath)
            ? Directory.GetDirectories(folder.SnapshotsPath).Select(Path.GetFileName).Where(HubNames.IsCommitId).OrderBy(n => n, StringComparer.Ordinal).ToList()!
            : Array.Empty<string>();

    /// <summary>Every file and link below <paramref name="directory"/>, never walking into a link.</summary>
    private static IEnumerable<string> WalkFiles(string directory)
    {
        if (!Directory.Exists(directory))
        {
            yield break;
        }

        foreach (var child in Directory.GetDirectories(directory))
        {
            if (RootGuard.IsLink(child))
            {
                yield return child;
                continue;
            }

            foreach (var file in WalkFiles(child))
            {
                yield return file;
            }
        }

        foreach (var file in Directory.GetFiles(directory))
        {
            yield return file;
        }
    }

    /// <summary>Deletes a folder's contents and the folder, links as links. Returns the bytes of plain files deleted and the count of files and links.</summary>
    private static (long Bytes, int Count) DeleteTree(RootGuard repo, string directory)
    {
        if (RootGuard.IsLink(directory))
        {
            Contained(repo, directory);
            DeleteLink(directory);
            return (0, 1);
        }

        if (!Directory.Exists(directory))
        {
            return (0, 0);
        }

        long bytes = 0;
        var count = 0;
        foreach (var child in Directory.GetDirectories(directory))
        {
            var (b, c) = DeleteTree(repo, child);
            bytes += b;
            count += c;
        }

        foreach (var file in Directory.GetFiles(directory))
        {
            var freed = DeleteFile(repo, file);
            if (freed >= 0)
            {
                bytes += freed;
                count++;
            }
        }

        repo.EnsureContained(directory);
        try
        {
            Directory.Delete(directory, recursive: false);
        }
        catch (DirectoryNotFoundException)
        {
        }

        return (bytes, count);
    }

    /// <returns>The bytes freed (0 for a link), or -1 when the file was already gone.</returns>
    private static long DeleteFile(RootGuard repo, string path)
    {
        if (RootGuard.IsLink(path))
        {
            Contained(repo, path);
            DeleteLink(path);
            return 0;
        }

        repo.EnsureContained(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return -1;
        }

        var length = info.Length;
        info.Delete();
        return length;
    }

    /// <summary>A link itself is deleted, so only the folders above it must be real: the link is the last thing checked.</summary>
    private static void Contained(RootGuard repo, string link) => repo.EnsureContained(Path.GetDirectoryName(PathRules.FullPath(link))!);

    /// <summary>Removes the link itself: unlink on Unix; on Windows a folder link or junction needs RemoveDirectory.</summary>
    private static void DeleteLink(string path)
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows) && (File.GetAttributes(path) & FileAttributes.Directory) != 0)
        {
            Directory.Delete(path, recursive: false);
        }
        else
        {
            File.Delete(path);
        }
    }

    private static long SizeOf(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists && !RootGuard.IsLink(path) ? info.Length : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static async Task HashAsync(Stream stream, IncrementalHash first, IncrementalHash? second, IProgress<long>? bytesHashed, CancellationToken cancellationToken)
    {
        var buffer = new byte[Sha256Hasher.BufferSize];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false)) > 0)
        {
            first.AppendData(buffer, 0, read);
            second?.AppendData(buffer, 0, read);
            total += read;
            bytesHashed?.Report(total);
        }
    }
}
