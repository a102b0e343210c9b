using ModelCache.Configuration;
using ModelCache.Locations;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Where a setting is kept: the one -Scope type of every cmdlet that writes a setting (Set-ModelCacheLocation,
/// Set-ModelCacheQuota, Register-/Unregister-ModelCatalog), spelled as PSResourceGet spells its scopes.
/// </summary>
public enum ModelCacheScope
{
    /// <summary>This PowerShell session only: kept in memory, never persisted, gone when the module is removed.</summary>
    Process,

    /// <summary>The user's settings file (settings.json), for every future session of this user. The default.</summary>
    CurrentUser,

    /// <summary>The machine-wide config file (config.json), for every user and service; written by administrators.</summary>
    AllUsers,
}

/// <summary>Where each scope keeps its settings.</summary>
internal static class ModelCacheScopes
{
    /// <summary>The settings file of a persisted scope; null for Process, which lives in ModuleState only.</summary>
    public static SettingsStore? SettingsFor(this ModelCacheScope scope, IEnvironment environment) => scope switch
    {
        ModelCacheScope.CurrentUser => SettingsStore.ForUser(environment),
        ModelCacheScope.AllUsers => SettingsStore.ForAllUsers(environment),
        _ => null,
    };
}
