using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using ICSharpCode.SharpZipLib.Zip;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Testing;
using Newtonsoft.Json;

namespace ModelCache.Core.Tests;

/// <summary>Bundles written by the exporter read back; crafted ZIPs and lying manifests are refused before anything is read.</summary>
public sealed class BundleTests : IDisposable
{
    private static readonly byte[] BytesA = TestModels.RandomBytes(300_000, seed: 11);
    private static readonly byte[] BytesB = TestModels.RandomBytes(200_000, seed: 12);
    private static readonly ModelDefinition ModelA = TestModels.Define(BytesA, new Uri("https://example.invalid/a.onnx"), member: "A", fileName: "a.onnx");
    private static readonly ModelDefinition ModelB = TestModels.Define(BytesB, new Uri("https://example.invalid/b.onnx"), member: "B", fileName: "b.onnx");
    private readonly TempDirectory _temp = new("modelcache-bundle");

    public void Dispose() => _temp.Dispose();

    private static ModelCatalog Catalog => new(new[] { ModelA, ModelB });

    [Theory]
    [InlineData("bundle.zip")]
    [InlineData("bundle-folder")]
    public async Task An_exported_bundle_reads_back_with_its_manifest_hash_and_the_exact_bytes(string name)
    {
        var result = await Export(name);

        Assert.Equal(new[] { ModelA.Name, ModelB.Name }, result.Models);
        Assert.Equal(BytesA.Length + BytesB.Length, result.Bytes);
        using var bundle = Bundle.Open(result.Path, Catalog);
        Assert.Equal(result.ManifestSha256, bundle.ManifestSha256);
        Assert.Equal(new[] { ModelA, ModelB }, bundle.Models.Select(m => m.Model));
        using var stream = bundle.OpenModel(ModelB);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        Assert.Equal(BytesB, copy.ToArray());
        Assert.False(File.Exists(result.Path + ".partial"));
    }

    [Fact]
    public async Task Zip_entries_are_stored_not_compressed()
    {
        var result = await Export("bundle.zip");
        using var zip = new ZipFile(result.Path);
        Assert.All(zip.Cast<ZipEntry>(), e => Assert.Equal(CompressionMethod.Stored, e.CompressionMethod));
    }

    [Fact]
    public async Task A_corrupt_cached_file_stops_the_export_and_leaves_nothing()
    {
        var files = Place();
        File.WriteAllBytes(files[1].File, TestModels.RandomBytes(BytesB.Length, seed: 99));
        var destination = _temp.Combine("bundle.zip");

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => BundleExporter.ExportAsync(files, destination, "test", null, (_, _) => { }, default));

        Assert.Equal("HashMismatch", error.ErrorId);
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(destination + ".partial"));

        var folder = _temp.Combine("bundle-folder");
        var folderError = await Assert.ThrowsAsync<ModelCacheException>(() => BundleExporter.ExportAsync(files, folder, "test", null, (_, _) => { }, default));
        Assert.Equal("HashMismatch", folderError.ErrorId);
        Assert.False(Directory.Exists(folder), "a folder export that stopped leaves nothing behind");
    }

    [Fact]
    public async Task An_existing_destination_is_never_written_over()
    {
        File.WriteAllText(_temp.Combine("bundle.zip"), "mine");
        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Export("bundle.zip"));
        Assert.Equal("BundleDestinationExists", error.ErrorId);
        Assert.Equal("mine", File.ReadAllText(_temp.Combine("bundle.zip")));
    }

    [Theory]
    [InlineData("../a.onnx")]
    [InlineData("/etc/a.onnx")]
    [InlineData("C:a.onnx")]
    [InlineData("C:\\temp\\a.onnx")]
    [InlineData("\\\\server\\share\\a.onnx")]
    [InlineData("models/a.onnx")]
    [InlineData("extra.onnx")]
    public void Entries_that_are_not_plain_names_listed_by_the_manifest_are_refused(string entryName)
    {
        var path = Craft(zip =>
        {
            Add(zip, "manifest.json", Manifest(ModelA));
            Add(zip, "a.onnx", BytesA);
            Add(zip, entryName, BytesA);
        });

        var error = Assert.Throws<ModelCacheException>(() => Bundle.Open(path, Catalog));
        Assert.Equal("BundleEntryRefused", error.ErrorId);
        Assert.Contains(entryName == "extra.onnx" ? "the manifest does not list it" : "not a plain file name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_symlink_entry_is_refused_by_its_attributes_not_its_name()
    {
        var path = Craft(zip =>
        {
            Add(zip, "manifest.json", Manifest(ModelA));
            var link = new ZipEntry("a.onnx") { HostSystem = 3, ExternalFileAttributes = unchecked((int)(0xA1FFu << 16)), CompressionMethod = CompressionMethod.Stored };
            var target = Encoding.UTF8.GetBytes("/etc/passwd");
            link.Size = target.Length;
            zip.PutNextEntry(link);
            zip.Write(target, 0, target.Length);
            zip.CloseEntry();
        });

        var error = Assert.Throws<ModelCacheException>(() => Bundle.Open(path, Catalog));
        Assert.Equal("CacheFolderIsLink", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.SecurityError, error.Kind);
    }

    [Fact]
    public void Duplicate_entries_are_refused()
    {
        var path = Craft(zip =>
        {
            Add(zip, "manifest.json", Manifest(ModelA));
            Add(zip, "a.onnx", BytesA);
            Add(zip, "A.onnx", BytesA);
        });

        Assert.Equal("BundleEntryRefused", Assert.Throws<ModelCacheException>(() => Bundle.Open(path, Catalog)).ErrorId);
    }

    [Fact]
    public void A_manifest_that_lies_about_the_hash_or_size_or_names_an_unknown_model_is_refused()
    {
        var lyingHash = Manifest(ModelA, m => m.Sha256 = TestModels.Sha256Of(BytesB));
        var lyingSize = Manifest(ModelA, m => m.Size = 5);
        var unknown = Manifest(ModelA, m => m.Name = "Evil/ONE");
        var otherFile = Manifest(ModelA, m => m.FileName = "../a.onnx");
        foreach (var manifest in new[] { lyingHash, lyingSize, unknown, otherFile })
        {
            var path = Craft(zip =>
            {
                Add(zip, "manifest.json", manifest);
                Add(zip, "a.onnx", BytesA);
            });
            Assert.Equal("BundleManifestInvalid", Assert.Throws<ModelCacheException>(() => Bundle.Open(path, Catalog)).ErrorId);
        }
    }

    // Json.NET keeps the last of a repeated key (and appends a repeated list): a manifest that repeats a key is refused whole.
    [Theory]
    [InlineData("\"models\":[", "\"models\":[],\"models\":[")]
    [InlineData("\"models\":[", "\"Models\":[],\"models\":[")]
    [InlineData("\"formatVersion\":1", "\"formatVersion\":1,\"formatVersion\":1")]
    [InlineData("\"fileName\":", "\"fileName\":\"a.onnx\",\"FILENAME\":")]
    [InlineData("\"sha256\":", "\"catalogEntry\":{\"task\":\"x\",\"task\":\"y\"},\"sha256\":")]
    public void A_manifest_that_repeats_a_key_is_refused_naming_both_lines(string find, string replace)
    {
        var text = Encoding.UTF8.GetString(Manifest(ModelA));
        Assert.Contains(find, text);
        var path = Craft(zip =>
        {
            Add(zip, "manifest.json", Encoding.UTF8.GetBytes(text.Replace(find, replace)));
            Add(zip, "a.onnx", BytesA);
        });

        var error = Assert.Throws<ModelCacheException>(() => Bundle.Open(path, Catalog));

        Assert.Equal("BundleManifestInvalid", error.ErrorId);
        Assert.Contains("twice in one object, at line 1 and at line 1", error.Message);
    }

    [Fact]
    public void An_entry_whose_declared_size_differs_from_the_manifest_is_refused()
    {
        var path = Craft(zip =>
        {
            Add(zip, "manifest.json", Manifest(ModelA));
            Add(zip, "a.onnx", BytesA.Concat(new byte[100]).ToArray());
        });

        Assert.Equal("BundleEntryRefused", Assert.Throws<ModelCacheException>(() => Bundle.Open(path, Catalog)).ErrorId);
    }

    [Fact]
    public void An_entry_that_inflates_past_its_declared_size_is_cut_at_the_manifest_size()
    {
        var longer = BytesA.Concat(new byte[50_000]).ToArray();
        var path = Craft(zip =>
        {
            Add(zip, "manifest.json", Manifest(ModelA));
            Add(zip, "a.onnx", longer, CompressionMethod.Deflated);
        });
        PatchUncompressedSize(path, "a.onnx", (uint)longer.Length, (uint)BytesA.Length);

        using var bundle = Bundle.Open(path, Catalog);
        var error = Assert.ThrowsAny<ModelCacheException>(() =>
        {
            using var stream = bundle.OpenModel(ModelA);
            stream.CopyTo(Stream.Null);
        });
        Assert.Contains(error.ErrorId, new[] { "BundleEntryTooLong", "BundleEntryCorrupt" });
    }

    [Fact]
    public void A_zip_bomb_is_refused_before_it_is_inflated()
    {
        var zeros = new byte[8 << 20];
        var bomb = TestModels.Define(zeros, new Uri("https://example.invalid/z.onnx"), member: "Z", fileName: "z.onnx");
        var path = Craft(zip =>
        {
            Add(zip, "manifest.json", Manifest(bomb));
            Add(zip, "z.onnx", zeros, CompressionMethod.Deflated);
        });

        var error = Assert.Throws<ModelCacheException>(() => Bundle.Open(path, new ModelCatalog(new[] { bomb })));
        Assert.Equal("BundleEntryRefused", error.ErrorId);
        Assert.Contains("zip bomb", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_a_manifest_is_not_a_bundle_and_an_oversized_manifest_is_refused()
    {
        Directory.CreateDirectory(_temp.Combine("plain"));
        Assert.Equal("BundleManifestMissing", Assert.Throws<ModelCacheException>(() => Bundle.Open(_temp.Combine("plain"), Catalog)).ErrorId);

        var path = Craft(zip => Add(zip, "manifest.json", new byte[BundleManifestReader.MaxManifestBytes + 10]));
        Assert.Equal("BundleManifestInvalid", Assert.Throws<ModelCacheException>(() => Bundle.Open(path, Catalog)).ErrorId);

        Directory.CreateDirectory(_temp.Combine("huge-manifest"));
        File.WriteAllBytes(_temp.Combine("huge-manifest", "manifest.json"), new byte[BundleManifestReader.MaxManifestBytes + 10]);
        Assert.Equal("BundleManifestInvalid", Assert.Throws<ModelCacheException>(() => Bundle.Open(_temp.Combine("huge-manifest"), Catalog)).ErrorId);
    }

    [Fact]
    public async Task A_model_that_is_not_built_in_travels_with_its_catalog_entry_and_opens_where_the_catalog_lacks_it()
    {
        var files = Place();
        files.Add((PlaceCustom(), Custom));

        var result = await BundleExporter.ExportAsync(files, _temp.Combine("custom.zip"), "test", null, (_, failure) => throw failure, default);

        using (var zip = new ZipFile(result.Path))
        {
            var manifest = JsonConvert.DeserializeObject<BundleManifest>(new StreamReader(zip.GetInputStream(zip.GetEntry("manifest.json"))).ReadToEnd())!;
            Assert.Null(manifest.Models.Single(m => m.Name == ModelA.Name).CatalogEntry);
            var carried = manifest.Models.Single(m => m.Name == Custom.Name).CatalogEntry!;
            Assert.Equal(Custom.FileName, (string?)carried["fileName"]);
            Assert.Equal(Custom.Sha256, (string?)carried["sha256"]);
            Assert.Equal("internal", (string?)carried["license"]);
        }

        using var bundle = Bundle.Open(result.Path, Catalog);
        var model = Assert.Single(bundle.NewModels);
        Assert.Equal(Custom.Name, model.Name);
        Assert.Equal(Custom.Sha256, model.Sha256);
        Assert.Equal(Custom.Url, model.Url);
        Assert.Contains(bundle.Models, m => m.Model == model);
    }

    [Theory]
    [InlineData("fileName", "../x.onnx", "plain file name")]
    [InlineData("fileName", "/etc/x.onnx", "plain file name")]
    [InlineData("fileName", "a/b", "plain file name")]
    [InlineData("fileName", "entry.json", "the cache writes")]
    [InlineData("member", "../C", "\"member\"")]
    [InlineData("sha256", "not-a-hash", "64 hexadecimal")]
    [InlineData("url", "ftp://example.invalid/c.onnx", "\"url\"")]
    [InlineData("task", "../../x", "the task '../../x', which is not one of the catalog's tasks (age_gender, ")]
    [InlineData("task", "face_detection/../x", "not one of the catalog's tasks")]
    [InlineData("task", "FaceDetection", "not one of the catalog's tasks")]
    [InlineData("task", "detection", "not one of the catalog's tasks")]
    public void A_carried_catalog_entry_that_breaks_a_catalog_rule_is_refused_naming_it(string field, string value, string why)
    {
        var error = OpenCustom(entry =>
        {
            entry.CatalogEntry![field] = value;
            if (field == "fileName")
            {
                entry.FileName = value;
            }
        });

        Assert.Equal("BundleManifestInvalid", error.ErrorId);
        Assert.Contains($"catalogEntry of '{Custom.Name}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_imported_from_a_local_file_url_travels_without_that_url_and_opens()
    {
        var local = new ModelDefinition(Custom.Family, Custom.Member, Custom.Task, Custom.FileName, new Uri("file:///srv/models/c.onnx"), Custom.Sha256, Custom.Size,
            origin: Custom.Origin);
        var result = await BundleExporter.ExportAsync(new List<(string, ModelDefinition)> { (PlaceCustom(), local) }, _temp.Combine("local.zip"), "test", null, (_, failure) => throw failure, default);

        using (var zip = new ZipFile(result.Path))
        {
            var manifest = new StreamReader(zip.GetInputStream(zip.GetEntry("manifest.json"))).ReadToEnd();
            Assert.DoesNotContain("/srv/models", manifest, StringComparison.Ordinal); // neither sourceUrl nor catalogEntry names the exporter's file
        }

        using var bundle = Bundle.Open(result.Path, Catalog);
        var model = Assert.Single(bundle.NewModels);
        Assert.Null(model.Url);
        Assert.Equal(Custom.Sha256, model.Sha256);
    }

    /// <summary>A stranger's bundle must not plant a catalog url that makes anything read a local file (or speak another protocol).</summary>
    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("FILE:///etc/passwd")]
    [InlineData("file://localhost/etc/passwd")]
    [InlineData("file://fileserver/share/c.onnx")]
    [InlineData("/etc/passwd")]
    [InlineData("/home/user/.ssh/id_rsa")]
    [InlineData(@"\\fileserver\share\c.onnx")]
    [InlineData("C:\\Windows\\win.ini")]
    [InlineData("c.onnx")]
    [InlineData("../../c.onnx")]
    [InlineData("ftp://example.invalid/c.onnx")]
    [InlineData("javascript:alert(1)")]
    [InlineData("data:application/octet-stream;base64,AAAA")]
    [InlineData("gopher://example.invalid/c.onnx")]
    [InlineData("smb://fileserver/share/c.onnx")]
    [InlineData("")]
    public void A_carried_catalog_url_must_be_http_or_https(string url)
    {
        var error = OpenCustom(entry => entry.CatalogEntry!["url"] = url);

        Assert.Equal("BundleManifestInvalid", error.ErrorId);
        Assert.Contains($"catalogEntry of '{Custom.Name}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"url\"", error.Message, StringComparison.Ordinal);
        if (url.Length > 0)
        {
            Assert.Contains("http", error.Message, StringComparison.Ordinal); // "" is refused as an empty string
        }
    }

    [Theory]
    [InlineData("https://models.example.invalid/c.onnx")]
    [InlineData("http://models.example.invalid/c.onnx")]
    [InlineData(null)]
    public void A_carried_catalog_url_that_is_http_https_or_absent_is_accepted(string? url)
    {
        var entry = BundleModel.From(Custom, BytesC.Length, Custom.Sha256, includeCatalogEntry: true);
        if (url is null)
        {
            entry.CatalogEntry!.Remove("url");
        }
        else
        {
            entry.CatalogEntry!["url"] = url;
        }

        var manifest = Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(new BundleManifest { Tool = "crafted", Models = { entry } }));
        var path = Craft(zip =>
        {
            Add(zip, "manifest.json", manifest);
            Add(zip, entry.FileName, BytesC);
        });

        using var bundle = Bundle.Open(path, Catalog);
        Assert.Equal(url, bundle.Models.Single().Model.Url?.ToString());
    }

    [Theory]
    [InlineData("sha256")]
    [InlineData("size")]
    [InlineData("fileName")]
    [InlineData("member")]
    public void A_carried_catalog_entry_that_disagrees_with_its_manifest_entry_is_refused(string field)
    {
        var error = OpenCustom(entry =>
        {
            switch (field)
            {
                case "sha256": entry.CatalogEntry!["sha256"] = TestModels.Sha256Of(BytesA); break;
                case "size": entry.CatalogEntry!["size"] = BytesC.Length + 1; break;
                case "fileName": entry.CatalogEntry!["fileName"] = "other.onnx"; break;
                default: entry.CatalogEntry!["member"] = "OTHER"; break;
            }
        });

        Assert.Equal("BundleManifestInvalid", error.ErrorId);
        Assert.Contains(Custom.Name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_new_model_without_a_catalog_entry_or_colliding_with_the_local_catalog_is_refused()
    {
        Assert.Contains("carries no catalogEntry", OpenCustom(entry => entry.CatalogEntry = null).Message, StringComparison.Ordinal);

        // The local catalog wins: the same name with another hash, or a local model's file name.
        var sameName = OpenCustom(entry =>
        {
            entry.Name = ModelA.Name;
            entry.CatalogEntry!["member"] = ModelA.Member;
        });
        Assert.Equal("BundleManifestInvalid", sameName.ErrorId);
        Assert.Contains($"for {ModelA.Name}", sameName.Message, StringComparison.Ordinal);
        Assert.Contains("the local catalog wins", sameName.Message, StringComparison.Ordinal);

        var sameFile = OpenCustom(entry =>
        {
            entry.FileName = ModelA.FileName;
            entry.CatalogEntry!["fileName"] = ModelA.FileName;
        });
        Assert.Contains($"which the catalog's {ModelA.Name} already has", sameFile.Message, StringComparison.Ordinal);
    }

    private static readonly byte[] BytesC = TestModels.RandomBytes(100_000, seed: 13);

    /// <summary>A model of a user catalog: its origin is that file, so exports carry its entry.</summary>
    private static readonly ModelDefinition Custom = new("Site", "C", "face_detection", "c.onnx", new Uri("https://models.example.invalid/c.onnx"),
        TestModels.Sha256Of(BytesC), BytesC.Length, license: "internal", origin: "/etc/site-catalog.json");

    private string PlaceCustom()
    {
        var path = _temp.Combine("c.onnx");
        File.WriteAllBytes(path, BytesC);
        return path;
    }

    /// <summary>Opens a ZIP whose manifest lists <see cref="Custom"/> with its catalog entry, changed by <paramref name="change"/>; the bundle must be refused.</summary>
    private ModelCacheException OpenCustom(Action<BundleModel> change)
    {
        var entry = BundleModel.From(Custom, BytesC.Length, Custom.Sha256, includeCatalogEntry: true);
        change(entry);
        var manifest = Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(new BundleManifest { Tool = "crafted", Models = { entry } }));
        var path = Craft(zip =>
        {
            Add(zip, "manifest.json", manifest);
            Add(zip, CacheFileName(entry.FileName), BytesC);
        });

        return Assert.Throws<ModelCacheException>(() => Bundle.Open(path, Catalog));
    }

    /// <summary>A ZIP entry name for the crafted file: the manifest's when plain, so only the manifest check can refuse it.</summary>
    private static string CacheFileName(string name) => ModelCache.IO.CacheFiles.IsPlainFileName(name) ? name : "c.onnx";

    private Task<BundleExportResult> Export(string name) =>
        BundleExporter.ExportAsync(Place(), _temp.Combine(name), "test", null, (_, failure) => throw failure, default);

    private List<(string File, ModelDefinition Model)> Place()
    {
        var cache = _temp.Combine("cache");
        Directory.CreateDirectory(cache);
        File.WriteAllBytes(Path.Combine(cache, "a.onnx"), BytesA);
        File.WriteAllBytes(Path.Combine(cache, "b.onnx"), BytesB);
        return new List<(string, ModelDefinition)> { (Path.Combine(cache, "a.onnx"), ModelA), (Path.Combine(cache, "b.onnx"), ModelB) };
    }

    private static byte[] Manifest(ModelDefinition model, Action<BundleModel>? change = null)
    {
        var entry = new BundleModel { Name = model.Name, FileName = model.FileName, Task = model.Task, Size = model.Size ?? 0, Sha256 = model.Sha256 };
        change?.Invoke(entry);
        return Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(new BundleManifest { Tool = "crafted", Models = { entry } }));
    }

    private string Craft(Action<ZipOutputStream> write)
    {
        var path = _temp.Combine("crafted-" + Guid.NewGuid().ToString("N") + ".zip");
        using (var zip = new ZipOutputStream(File.Create(path)) { UseZip64 = UseZip64.Off })
        {
            write(zip);
        }

        return path;
    }

    private static void Add(ZipOutputStream zip, string name, byte[] content, CompressionMethod method = CompressionMethod.Stored)
    {
        var entry = new ZipEntry(name) { CompressionMethod = method };
        if (method == CompressionMethod.Stored)
        {
            entry.Size = content.Length;
        }

        zip.PutNextEntry(entry);
        zip.Write(content, 0, content.Length);
        zip.CloseEntry();
    }

    /// <summary>Rewrites an entry's uncompressed size in its local header and its central directory record.</summary>
    private static void PatchUncompressedSize(string path, string name, uint actual, uint declared)
    {
        var bytes = File.ReadAllBytes(path);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var patched = 0;
        for (var i = 0; i + 46 < bytes.Length; i++)
        {
            var signature = BitConverter.ToUInt32(bytes, i);
            var (sizeAt, nameLengthAt, nameAt) = signature switch
            {
                0x04034b50 => (22, 26, 30),
                0x02014b50 => (24, 28, 46),
                _ => (0, 0, 0),
            };
            if (sizeAt == 0 || BitConverter.ToUInt16(bytes, i + nameLengthAt) != nameBytes.Length || !bytes.AsSpan(i + nameAt, nameBytes.Length).SequenceEqual(nameBytes))
            {
                continue;
            }

            if (BitConverter.ToUInt32(bytes, i + sizeAt) == actual)
            {
                BitConverter.GetBytes(declared).CopyTo(bytes, i + sizeAt);
                patched++;
            }
        }

        Assert.True(patched >= 1, "the crafted archive has the size to patch");
        File.WriteAllBytes(path, bytes);
    }
}
