using System;
using System.Security.Cryptography;
using ModelCache.Catalog;

namespace ModelCache.Core.Tests;

internal static class TestModels
{
    public static byte[] RandomBytes(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256Of(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    public static ModelDefinition Define(byte[] bytes, Uri url, string member = "TINY", string fileName = "tiny.onnx", bool exactSize = true) =>
        new("Test", member, "face_detection", fileName, url, Sha256Of(bytes), exactSize ? bytes.Length : null);
}

internal static class EntryAssertions
{
    /// <summary>What listings used to call "Verified": the last hash check passed and the file has not changed since.</summary>
    public static bool PassedAndUnchanged(this ModelCache.Store.ModelCacheEntry entry) =>
        entry.LastCheck == ModelCache.Store.EntryCheckResult.Passed && entry.ChangedSinceCheck == false;
}
