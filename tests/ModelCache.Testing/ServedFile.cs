using System;
using System.IO;
using System.Security.Cryptography;

namespace ModelCache.Testing;

/// <summary>Seeded random bytes written where a test server (or a cache) will find them, with the SHA-256 a catalog entry names.</summary>
public sealed class ServedFile
{
    private ServedFile(string path, byte[] content)
    {
        Path = path;
        Content = content;
        Sha256 = Sha256Of(content);
    }

    public string Path { get; }

    public byte[] Content { get; }

    /// <summary>Lower-case hex, as catalogs write it.</summary>
    public string Sha256 { get; }

    /// <summary>Writes <paramref name="size"/> bytes from <paramref name="seed"/> to <paramref name="directory"/>/<paramref name="fileName"/> (the folder is created).</summary>
    public static ServedFile Write(string directory, string fileName, int size, int seed)
    {
        Directory.CreateDirectory(directory);
        var file = new ServedFile(System.IO.Path.Combine(directory, fileName), RandomBytes(size, seed));
        File.WriteAllBytes(file.Path, file.Content);
        return file;
    }

    /// <summary>The same bytes for the same seed on every run.</summary>
    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
