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
