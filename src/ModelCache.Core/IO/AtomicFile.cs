using System;
using System.IO;
using System.Text;

namespace ModelCache.IO;

/// <summary>Replaces files so readers see either the old or the new content, never a torn write.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string contents)
    {
        var temp = CacheFiles.TempPathFor(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var bytes = new UTF8Encoding(false).GetBytes(contents);
                stream.Write(bytes, 0, bytes.Length);
                stream.Flush(true);
            }

            Promote(temp, path);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>Renames <paramref name="source"/> over <paramref name="destination"/> in one step.</summary>
    public static void Promote(string source, string destination)
    {
        if (File.Exists(destination))
        {
            // File.Replace is rename(2) on Unix and ReplaceFile on Windows: atomic in both.
            File.Replace(source, destination, null);
        }
        else
        {
            File.Move(source, destination);
        }
    }
}
