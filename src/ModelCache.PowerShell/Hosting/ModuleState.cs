using System;
using System.Collections.Generic;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Process-wide configuration set by Set-ModelCacheLocation -Scope Process. Configuration only:
/// everything else is built per command from it.
/// </summary>
internal static class ModuleState
{
    private static readonly object Gate = new();
    private static string? _processCacheRoot;
    private static Dictionary<string, string> _processModelLocations = new(StringComparer.OrdinalIgnoreCase);

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
        }
    }
}
