using System.IO;
using System.Linq;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Testing;

namespace ModelCache.Inference.Tests;

/// <summary>The count cap of a folder walk (the depth cap and everything else are tested through Invoke-FaceDetect).</summary>
public sealed class ImageFolderTests : System.IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_folder_with_more_images_than_the_cap_is_refused_with_ImageFolderTooLarge_and_at_the_cap_is_listed()
    {
        var folder = _dir.Combine("photos");
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        foreach (var name in new[] { "a.jpg", "b.PNG", "sub/c.webp", "notes.txt" })
        {
            File.WriteAllText(Path.Combine(folder, name), "x");
        }

        Assert.Equal(2, ImageFolder.List(folder, recurse: false, ImageFolder.MaxDepth, maxImages: 2).Images.Count);
        Assert.Equal(3, ImageFolder.List(folder, recurse: true, ImageFolder.MaxDepth, maxImages: 3).Images.Count);
        var ex = Assert.Throws<ModelCacheException>(() => ImageFolder.List(folder, recurse: true, ImageFolder.MaxDepth, maxImages: 2));
        Assert.Equal("ImageFolderTooLarge", ex.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains(Path.GetFullPath(folder), ex.Message);
    }
}
