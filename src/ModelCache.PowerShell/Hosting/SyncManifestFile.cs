using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.IO;
using ModelCache.Sync;

namespace ModelCache.PowerShell.Hosting;

/// <summary>Reads a desired-state manifest: a .json file, or a .psd1 data file (read as data by Import-PowerShellDataFile, never run).</summary>
internal static class SyncManifestFile
{
    public static SyncManifest Read(PSCmdlet cmdlet, string path)
    {
        var full = cmdlet.GetUnresolvedProviderPathFromPSPath(path);
        try
        {
            RegularFile.Check(full); // Import-PowerShellDataFile would block on a FIFO.
            if (new FileInfo(full).Length > SyncManifest.MaxBytes)
            {
                throw new ModelCacheException("SyncManifestInvalid", ModelCacheErrorKind.InvalidData, $"The manifest '{full}' is over {SyncManifest.MaxBytes} bytes.", "Check the file.");
            }

            if (!full.EndsWith(".psd1", StringComparison.OrdinalIgnoreCase))
            {
                return SyncManifest.Parse(RegularFile.ReadAllText(full), full);
            }

            var json = cmdlet.InvokeCommand.NewScriptBlock("param($p) Import-PowerShellDataFile -LiteralPath $p | ConvertTo-Json -Depth 8 -Compress")
                .Invoke(full).Select(o => o?.ToString()).FirstOrDefault();
            return SyncManifest.Parse(json ?? string.Empty, full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("SyncManifestUnreadable", ModelCacheErrorKind.ReadError, $"Cannot read the manifest '{full}': {ex.Message}", "Check the path and permissions.", ex);
        }
        catch (RuntimeException ex)
        {
            throw new ModelCacheException("SyncManifestInvalid", ModelCacheErrorKind.InvalidData, $"The manifest '{full}' is not a valid PowerShell data file: {ex.Message}",
                "Fix the file; it must be a hashtable with FormatVersion = 1 and Models = @(...).", ex);
        }
    }
}
