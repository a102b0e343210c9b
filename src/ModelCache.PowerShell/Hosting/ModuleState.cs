using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Process-wide configuration set with -Scope Process (Set-ModelCacheLocation, Set-ModelCacheQuota, Register-ModelCatalog);
/// never persisted. Configuration only:
/// everything else is built per command from it.
/// </summary>
internal static class ModuleState
{
    private static readonly object Gate = new();
    private static string? _processCacheRoot;
    private static Dictionary<string, string> _processModelLocations = new(StringComparer.OrdinalIgnoreCase);
    private static long? _processMaxSize;
    private static IReadOnlyList<string> _processCatalogs = Array.Empty<string>();

    /// <summary>Set-ModelCacheQuota -Scope Process: the quota of this session, before the User and AllUsers settings.</summary>
    public static long? ProcessMaxSize
    {
        get
        {
            lock (Gate)
            {
                return _processMaxSize;
            }
        }

        set
        {
            lock (Gate)
            {
                _processMaxSize = value;
            }
        }
    }

    /// <summary>Catalog files registered with -Scope Process (full paths); a snapshot, never modified in place.</summary>
    public static IReadOnlyList<string> ProcessCatalogs
    {
        get
        {
            lock (Gate)
            {
                return _processCatalogs;
            }
        }
    }

    /// <summary>Adds (true when new) or removes (true when it was there) a catalog file registered for this process.</summary>
    public static bool SetProcessCatalog(string file, bool registered, IEqualityComparer<string> comparer)
    {
        lock (Gate)
        {
            var had = _processCatalogs.Contains(file, comparer);
            if (had == registered)
            {
                return false;
            }

            _processCatalogs = registered ? _processCatalogs.Append(file).ToList() : _processCatalogs.Where(p => !comparer.Equals(p, file)).ToList();
            return true;
        }
    }

    public static string? ProcessCacheRoot
    {
        get
        {
            lock (Gate)
            {
                return _processCacheRoot;
            }
        }

        set
        {
            lock (Gate)
            {
                _processCacheRoot = value;
            }
        }
    }

    /// <summary>Per-model locations set with -Scope Process (Family/Member → folder); a snapshot, never modified in place.</summary>
    public static IReadOnlyDictionary<string, string> ProcessModelLocations
    {
        get
        {
            lock (Gate)
            {
                return _processModelLocations;
            }
        }
    }

    /// <summary>Sets the folder of <paramref name="model"/> for this process, or forgets it when <paramref name="folder"/> is null.</summary>
    public static void SetProcessModelLocation(string model, string? folder)
    {
        lock (Gate)
        {
            var next = new Dictionary<string, string>(_processModelLocations, StringComparer.OrdinalIgnoreCase);
            next.Remove(model);
            if (folder is not null)
            {
                next[model] = folder;
            }

            _processModelLocations = next;
        }
    }

    /// <summary>Forgets every process setting (module load and unload).</summary>
    public static void Reset()
    {
        lock (Gate)
        {
            _processCacheRoot = null;
            _processModelLocations = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            _processMaxSize = null;
            _processCatalogs = Array.Empty<string>();
        }
    }
}
