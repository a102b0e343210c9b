using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Catalog;

namespace ModelCache.Store;

/// <summary>
/// Which entries Clear-ModelCache's filters select: every criterion given must hold (AND). Ages come from metadata,
/// which is data: an entry whose age is unknown is never taken for old.
/// </summary>
public sealed class EntryFilter
{
    /// <summary>Saved longer ago than this.</summary>
    public TimeSpan? OlderThan { get; set; }

    /// <summary>Last used (or, never used, saved) before this moment.</summary>
    public DateTimeOffset? NotUsedSince { get; set; }

    /// <summary>Task names or wildcard patterns, any of which matches.</summary>
    public IReadOnlyList<string>? Tasks { get; set; }

    /// <summary>Family names or wildcard patterns, any of which matches.</summary>
    public IReadOnlyList<string>? Families { get; set; }

    /// <summary>Only entries no catalog knows.</summary>
    public bool OrphansOnly { get; set; }

    /// <summary>True when no criterion is set.</summary>
    public bool IsEmpty => OlderThan is null && NotUsedSince is null && Tasks is null && Families is null && !OrphansOnly;

    public bool Matches(ModelCacheEntry entry, DateTimeOffset now) =>
        Matches(entry.Family, entry.Task, entry.InCatalog, entry.SavedAt, entry.LastActivity, now);

    /// <summary>A partial download is judged by its model, and its age by when it was last written.</summary>
    public bool Matches(PartialFile partial, DateTimeOffset now) =>
        Matches(partial.Family, partial.Task, partial.InCatalog, partial.LastWrite, partial.LastWrite, now);

    /// <summary>The criteria in words, for messages.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (OlderThan is { } age)
        {
            parts.Add($"saved more than {age} ago");
        }

        if (NotUsedSince is { } since)
        {
            parts.Add($"not used since {since:u}");
        }

        if (Tasks is not null)
        {
            parts.Add("task " + string.Join(" or ", Tasks));
        }

        if (Families is not null)
        {
            parts.Add("family " + string.Join(" or ", Families));
        }

        if (OrphansOnly)
        {
            parts.Add("in no catalog");
        }

        return parts.Count == 0 ? "every entry" : string.Join(", ", parts);
    }

    private bool Matches(string family, string task, bool inCatalog, DateTimeOffset? savedAt, DateTimeOffset? lastActivity, DateTimeOffset now)
    {
        if (OlderThan is { } age && !(savedAt is { } saved && now - saved > age))
        {
            return false;
        }

        if (NotUsedSince is { } since && !(lastActivity is { } active && active < since))
        {
            return false;
        }

        if (OrphansOnly && inCatalog)
        {
            return false;
        }

        return AnyMatch(Tasks, task) && AnyMatch(Families, family);
    }

    private static bool AnyMatch(IReadOnlyList<string>? patterns, string value) =>
        patterns is null || patterns.Any(pattern => new WildcardMatcher(pattern).IsMatch(value));
}
