using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;

namespace ModelCache.Operations;

/// <summary>
/// The catalog every command resolves names in: the built-in catalog merged with registered catalogs (AllUsers, then
/// User), the user's catalog.json, $env:MODELCACHE_CATALOG files, then the caller's files (see <see cref="CatalogSources"/>).
/// </summary>
public static class CatalogLoader
{
    /// <summary>
    /// Throws on a bad file, except a registered one, which is a warning naming it while the rest load; with
    /// <paramref name="listing"/> (Get-ModelCatalog -Source) every unreadable file is reported in its source instead.
    /// </summary>
    /// <param name="environment">Settings and MODELCACHE_CATALOG.</param>
    /// <param name="resolvePath">Turns a path as given (relative to the host's current location) into a full path.</param>
    /// <param name="parameterFiles">The caller's catalog files, as given.</param>
    /// <param name="listing">Report unreadable files in the sources instead of failing or warning.</param>
    /// <param name="events">Gets the warnings.</param>
    /// <param name="sessionFiles">Catalogs registered for this session only (full paths), read with MODELCACHE_CATALOG's.</param>
    /// <exception cref="Errors.ModelCacheException">A catalog file that is not registered cannot be read.</exception>
    public static CatalogLoad Load(IEnvironment environment, Func<string, string> resolvePath, IEnumerable<string>? parameterFiles, bool listing, IOperationEvents events, IEnumerable<string>? sessionFiles = null)
    {
        var load = For(environment, resolvePath, parameterFiles, sessionFiles).Load(skipAnyUnreadable: listing);
        foreach (var skipped in listing ? Array.Empty<CatalogFormatException>() : load.Skipped)
        {
            events.Warning($"{skipped.Message} Its models are left out. Fix or restore the file, or remove it with 'Unregister-ModelCatalog -Path {skipped.File}' (with -Scope AllUsers if it is registered for all users).");
        }

        return load;
    }

    /// <summary>The files a load reads besides the registered ones: MODELCACHE_CATALOG's, then the caller's (full paths).</summary>
    public static IReadOnlyList<string> NamedFiles(IEnvironment environment, Func<string, string> resolvePath, IEnumerable<string>? parameterFiles, IEnumerable<string>? sessionFiles = null) =>
        ModelCacheOptions.FromEnvironment(environment).CatalogFiles.Select(resolvePath).Concat(sessionFiles ?? Array.Empty<string>())
            .Concat((parameterFiles ?? Array.Empty<string>()).Select(resolvePath)).ToList();

    // Session registrations (-Scope Process) join MODELCACHE_CATALOG's: both are this session's, listed with Scope Process.
    private static CatalogSources For(IEnvironment environment, Func<string, string> resolvePath, IEnumerable<string>? parameterFiles, IEnumerable<string>? sessionFiles) => CatalogSources.For(environment,
        ModelCacheOptions.FromEnvironment(environment).CatalogFiles.Select(resolvePath).Concat(sessionFiles ?? Array.Empty<string>()).ToList(),
        (parameterFiles ?? Array.Empty<string>()).Select(resolvePath).ToList());
}
