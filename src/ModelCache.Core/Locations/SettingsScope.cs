namespace ModelCache.Locations;

/// <summary>Which settings file a setting lives in.</summary>
public enum SettingsScope
{
    /// <summary>The user's own settings.json (PSResourceGet's spelling, as -Scope CurrentUser).</summary>
    CurrentUser,

    /// <summary>The machine-wide config.json that services read and administrators write.</summary>
    AllUsers,
}
