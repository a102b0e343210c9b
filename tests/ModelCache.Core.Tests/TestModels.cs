using System;
using ModelCache.Catalog;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

internal static class TestModels
{
    public static byte[] RandomBytes(int length, int seed = 1) => ServedFile.RandomBytes(length, seed);

    public static string Sha256Of(byte[] bytes) => ServedFile.Sha256Of(bytes);

    public static ModelDefinition Define(byte[] bytes, Uri url, string member = "TINY", string fileName = "tiny.onnx", bool exactSize = true) =>
        new("Test", member, "face_detection", fileName, url, Sha256Of(bytes), exactSize ? bytes.Length : null);
}

internal static class EntryAssertions
{
    /// <summary>What listings used to call "Verified": the last hash check passed and the file has not changed since.</summary>
    public static bool PassedAndUnchanged(this ModelCache.Store.ModelCacheEntry entry) =>
        entry.LastCheck == ModelCache.Store.EntryCheckResult.Passed && entry.ChangedSinceCheck == false;
}
