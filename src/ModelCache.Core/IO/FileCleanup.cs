using System;
using System.IO;

namespace ModelCache.IO;

/// <summary>Best-effort deletion of work files, which are never mistaken for models if one stays.</summary>
internal static class FileCleanup
{
    /// <returns>The bytes freed: 0 when the file was absent or could not be deleted.</returns>
    public static long TryDelete(string path)
    {
        try
        {
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                return 0;
            }

            var length = file.Length;
            file.Delete();
            return length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
