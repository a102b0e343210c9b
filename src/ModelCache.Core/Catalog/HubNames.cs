using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using ModelCache.Errors;

namespace ModelCache.Catalog;

/// <summary>
/// What a name in a hub cache may look like. A cache root may be a stranger's copy, so every commit id,
/// ref, blob id and path in a repo is checked against these rules before it becomes part of a path.
/// </summary>
public static class HubNames
{
    /// <summary>The revision used when none is named.</summary>
    public const string DefaultRevision = "main";

    /// <summary>A refs file larger than this is not a ref (a commit id is 40 bytes).</summary>
    public const int MaxRefFileBytes = 256;

    private const int MaxRevisionLength = 200;
    private const int MaxPathLength = 1024;
    private static readonly Regex CommitPattern = new("^[0-9a-f]{40}$", RegexOptions.CultureInvariant);
    private static readonly Regex BlobPattern = new("^(?:[0-9a-f]{40}|[0-9a-f]{64})$", RegexOptions.CultureInvariant);
    private static readonly Regex Sha256Pattern = new("^[0-9a-f]{64}$", RegexOptions.CultureInvariant);
    private static readonly char[] ForbiddenInSegment = { '\\', ':', '*', '?', '"', '<', '>', '|' };

    /// <summary>A full commit id: 40 lowercase hex digits.</summary>
    public static bool IsCommitId(string? text) => text is not null && CommitPattern.IsMatch(text);

    /// <summary>A blob id: the SHA-256 (64 hex) of an LFS file or the git blob SHA-1 (40 hex) of a small one.</summary>
    public static bool IsBlobId(string? text) => text is not null && BlobPattern.IsMatch(text);

    /// <summary>True when <paramref name="blobId"/> is a SHA-256, i.e. names an LFS file.</summary>
    public static bool IsSha256(string? blobId) => blobId is not null && Sha256Pattern.IsMatch(blobId);

    /// <summary>
    /// A branch, tag or commit name: <c>/</c>-separated segments (as in <c>refs/pr/1</c>), none empty,
    /// <c>.</c> or <c>..</c>, no backslash, colon or control character.
    /// </summary>
    public static bool IsValidRevision(string? revision) => revision is { Length: > 0 and <= MaxRevisionLength } && AreValidSegments(revision);

    /// <summary>A file path in a repo, <c>/</c>-separated and relative, with the same segment rules.</summary>
    public static bool IsValidRepoPath(string? path) => path is { Length: > 0 and <= MaxPathLength } && AreValidSegments(path);

    public static string ValidateRevision(string? revision) => IsValidRevision(revision) ? revision! : throw new ModelCacheException(
        "HubRevisionInvalid", ModelCacheErrorKind.InvalidArgument,
        $"'{revision}' is not a valid revision (a branch, tag or 40-hex commit id).",
        "Pass a branch or tag name such as 'main', or a full commit id; '..', '\\' and absolute paths are not allowed.");

    public static string ValidateRepoPath(string? path) => IsValidRepoPath(path) ? path! : throw new ModelCacheException(
        "HubPathInvalid", ModelCacheErrorKind.InvalidArgument,
        $"'{path}' is not a valid file path in a hub repository.",
        "Pass the file's path in the repository with '/' separators, e.g. 'onnx/model.onnx'; '..', '\\' and absolute paths are not allowed.");

    /// <summary>The strong or weak ETag value without <c>W/</c> and quotes.</summary>
    public static string? NormalizeETag(string? etag)
    {
        var text = etag?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (text!.StartsWith("W/", StringComparison.Ordinal))
        {
            text = text.Substring(2);
        }

        return text.Trim('"');
    }

    /// <summary>The platform path of a validated repo path below <paramref name="directory"/>.</summary>
    internal static string Combine(string directory, string repoPath) =>
        Path.Combine(new[] { directory }.Concat(repoPath.Split('/')).ToArray());

    private static bool AreValidSegments(string text) =>
        text.Split('/').All(segment => segment.Length > 0 && segment is not "." and not ".." && segment.IndexOfAny(ForbiddenInSegment) < 0 && !segment.Any(char.IsControl)
            && segment.Trim().Length == segment.Length);
}
