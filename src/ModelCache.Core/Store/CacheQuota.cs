using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.Primitives;
using Newtonsoft.Json.Linq;

namespace ModelCache.Store;

/// <summary>
/// The most bytes a cache may hold (<c>maxSize</c> in a settings file, or Save-Model -MaxSize for one call). The effective
/// quota is taken in the order locations are: the command's own value, then the user's settings, then the machine's.
/// </summary>
public sealed class CacheQuota
{
    public const string SettingKey = "maxSize";

    private CacheQuota(long? maxSize, string source)
    {
        MaxSize = maxSize;
        Source = source;
    }

    /// <summary>Null when no quota applies.</summary>
    public long? MaxSize { get; }

    /// <summary>Where the value came from, for messages.</summary>
    public string Source { get; }

    /// <summary>
    /// The quota in force: <paramref name="explicitMaxSize"/> when given, else this session's (<paramref name="processMaxSize"/>,
    /// Set-ModelCacheQuota -Scope Process), else the CurrentUser setting, else the AllUsers one.
    /// </summary>
    public static CacheQuota Resolve(long? explicitMaxSize, IEnvironment environment, long? processMaxSize = null)
    {
        if (explicitMaxSize is { } given)
        {
            return new CacheQuota(given, "-MaxSize");
        }

        if (processMaxSize is { } session)
        {
            return new CacheQuota(session, "Set-ModelCacheQuota -Scope Process");
        }

        foreach (var scope in new[] { SettingsScope.CurrentUser, SettingsScope.AllUsers })
        {
            var settings = SettingsStore.For(scope, environment);
            if (Read(settings) is { } value)
            {
                return new CacheQuota(value, $"Set-ModelCacheQuota -Scope {scope} ({settings.SettingsFile})");
            }
        }

        return new CacheQuota(null, "none set");
    }

    /// <summary>The setting in <paramref name="settings"/>; a value that is not a positive integer is no quota (settings never stop a command).</summary>
    public static long? Read(SettingsStore settings) =>
        settings.Read(SettingKey) is { Type: JTokenType.Integer } value && (long)value > 0 ? (long)value : null;

    /// <summary>Persists <paramref name="maxSize"/>; null removes the setting.</summary>
    /// <exception cref="ModelCacheException">SettingsNotWritable.</exception>
    public static void Write(SettingsStore settings, long? maxSize) => settings.Write(SettingKey, maxSize is { } value ? new JValue(value) : null);

    /// <summary>QuotaTooSmall when <paramref name="model"/> alone is bigger than the quota; null when it fits or no size or quota is known.</summary>
    public ModelCacheException? CheckFits(ModelDefinition model) =>
        MaxSize is { } max && model.Size is { } size && size > max
            ? new ModelCacheException("QuotaTooSmall", ModelCacheErrorKind.InvalidOperation,
                $"{model.Name} is {ByteSize.Format(size)}, more than the cache's MaxSize of {ByteSize.Format(max)} ({Source}) allows; nothing was downloaded.",
                "Raise the quota with 'Set-ModelCacheQuota -MaxSize <bytes>' or 'Save-Model -MaxSize <bytes>', or save the model into another cache with -CachePath.")
            : null;

    public override string ToString() => MaxSize is { } max ? $"{ByteSize.Format(max)} ({Source})" : "no quota";
}
