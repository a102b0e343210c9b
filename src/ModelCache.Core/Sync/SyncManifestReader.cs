using System;
using System.IO;
using ModelCache.Errors;
using ModelCache.IO;

namespace ModelCache.Sync;

/// <summary>Reads a desired-state manifest file: .json here; a .psd1 data file through the host, which alone can read it as data.</summary>
public static class SyncManifestReader
{
    /// <param name="path">The manifest's full path.</param>
    /// <param name="dataFileToJson">Reads a .psd1 data file (never running it) and gives its hashtable as JSON.</param>
    /// <exception cref="ModelCacheException">SyncManifestUnreadable, or SyncManifestInvalid.</exception>
    public static SyncManifest Read(string path, Func<string, string?> dataFileToJson)
    {
        try
        {
            RegularFile.Check(path); // a FIFO would block the read (and Import-PowerShellDataFile).
            if (new FileInfo(path).Length > SyncManifest.MaxBytes)
            {
                throw new ModelCacheException("SyncManifestInvalid", ModelCacheErrorKind.InvalidData, $"The manifest '{path}' is over {SyncManifest.MaxBytes} bytes.", "Check the file.");
            }

            var json = path.EndsWith(".psd1", StringComparison.OrdinalIgnoreCase) ? dataFileToJson(path) : RegularFile.ReadAllText(path);
            return SyncManifest.Parse(json ?? string.Empty, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("SyncManifestUnreadable", ModelCacheErrorKind.ReadError, $"Cannot read the manifest '{path}': {ex.Message}", "Check the path and permissions.", ex);
        }
    }
}
