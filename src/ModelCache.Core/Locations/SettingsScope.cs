namespace ModelCache.Locations;

/// <summary>Which settings file a setting lives in.</summary>
public enum SettingsScope
{
    /// <summary>The user's own settings.json.</summary>
    User,

    /// <summary>The machine-wide config.json that services read and administrators write.</summary>
    AllUsers,
}
