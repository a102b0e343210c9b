using System;
using System.IO;
using ModelCache.IO;
using ModelCache.Store;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Locations;

/// <summary>
/// The record of a whole-root move whose location settings were switched before its old copies were deleted
/// (<c>move.json</c> beside settings.json). A move killed in between leaves the setting pointing at the new root;
/// the record lets the same command, run again, find the old root and finish.
/// </summary>
public sealed class MoveJournal
{
    private const string SourceKey = "source";
    private const string DestinationKey = "destination";

    /// <param name="userDirectory">The user's ModelCache folder (<see cref="SettingsStore.UserDirectory"/>).</param>
    public MoveJournal(string userDirectory)
    {
        JournalFile = Path.Combine(userDirectory, "move.json");
    }

    public string JournalFile { get; }

    /// <summary>
    /// The root a command that resolved its source to <paramref name="resolvedSource"/> should move from: the
    /// recorded old root when the resolved one is the recorded move's destination (its setting was already
    /// switched), else <paramref name="resolvedSource"/> itself.
    /// </summary>
    public string ResolveSource(string resolvedSource, string destination)
    {
        var pending = Read();
        return pending is { } move && PathRules.IsSame(move.Destination, destination) && PathRules.IsSame(resolvedSource, destination) ? move.Source : resolvedSource;
    }

    public void Record(string source, string destination)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(JournalFile)!);
        AtomicFile.WriteAllText(JournalFile, new JObject { [SourceKey] = source, [DestinationKey] = destination }.ToString(Formatting.Indented));
    }

    /// <summary>Forgets the move into <paramref name="destination"/> once it has finished; another one's record stays.</summary>
    public void Clear(string destination)
    {
        if (Read() is { } move && PathRules.IsSame(move.Destination, destination))
        {
            File.Delete(JournalFile);
        }
    }

    private (string Source, string Destination)? Read()
    {
        try
        {
            if (!File.Exists(JournalFile) || new FileInfo(JournalFile).Length > CacheFiles.MaxMetadataBytes)
            {
                return null;
            }

            var record = JObject.Parse(RegularFile.ReadAllText(JournalFile));
            return record[SourceKey]?.Type == JTokenType.String && record[DestinationKey]?.Type == JTokenType.String
                ? (Path.GetFullPath(record.Value<string>(SourceKey)!), Path.GetFullPath(record.Value<string>(DestinationKey)!))
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or ArgumentException or NotSupportedException)
        {
            // A damaged record is no record: the move it described is finished by naming the old root with -Path.
            return null;
        }
    }

}
