using System;
using System.Collections.Generic;
using ModelCache.Store;
using Newtonsoft.Json.Linq;
using ModelCache.IO;

namespace ModelCache.Locations;

/// <summary>
/// Per-model locations as a settings file keeps them: <c>"modelLocations": { "Family/Member": "folder" }</c>.
/// A name that is not a plain <c>Family/Member</c> pair, or a value that is not a string, is ignored.
/// </summary>
public static class ModelLocationSettings
{
    public const string Key = "modelLocations";

    /// <summary>The locations <paramref name="settings"/> holds, as written.</summary>
    public static IReadOnlyDictionary<string, string> Read(SettingsStore settings)
    {
        var locations = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (settings.Read(Key) is JObject map)
        {
            foreach (var property in map.Properties())
            {
                if (IsModelName(property.Name) && property.Value.Type == JTokenType.String && property.Value.Value<string>() is { Length: > 0 } folder)
                {
                    locations[property.Name] = folder;
                }
            }
        }

        return locations;
    }

    /// <summary>Sets the folder of <paramref name="model"/>, or forgets it when <paramref name="folder"/> is null. Deletes nothing.</summary>
    public static void Write(SettingsStore settings, string model, string? folder) => settings.Update(all =>
    {
        var map = all[Key] as JObject ?? new JObject();
        foreach (var existing in new List<JProperty>(map.Properties()))
        {
            if (string.Equals(existing.Name, model, StringComparison.OrdinalIgnoreCase))
            {
                existing.Remove();
            }
        }

        if (folder is not null)
        {
            map[model] = folder;
        }

        if (map.Count == 0)
        {
            all.Remove(Key);
        }
        else
        {
            all[Key] = map;
        }
    });

    /// <summary>True for <c>Family/Member</c> where both parts are plain names (no separators, no '..').</summary>
    public static bool IsModelName(string name)
    {
        var parts = name.Split('/');
        return parts.Length == 2 && CacheFiles.IsPlainFileName(parts[0]) && CacheFiles.IsPlainFileName(parts[1]);
    }
}
