using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ICSharpCode.SharpZipLib.Zip;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Store;
using ModelCache.Layouts;

namespace ModelCache.Bundles;

/// <summary>
/// An opened bundle (a ZIP or a folder written by Export-ModelCache, or a static mirror with its index.json), checked before anything is read from it:
/// the manifest against the catalog, and every ZIP entry against the manifest (plain names only, no links, no
/// duplicates, no entry the manifest does not list, declared sizes that match, no zip bomb). Model bytes are then
/// read through <see cref="OpenModel"/>, bounded to the manifest's size; the importer still hashes them before
/// anything gets a final name.
/// </summary>
public sealed class Bundle : IDisposable
{
    /// <summary>A compressed entry that would inflate more than this many times its stored size is refused (ONNX weights barely compress).</summary>
    public const long MaxCompressionRatio = 100;

    private const int UnixHost = 3;
    private const int UnixFileTypeMask = 0xF000;
    private const int UnixSymlink = 0xA000;

    private readonly ZipFile? _zip;
    private readonly Dictionary<string, ZipEntry> _entries = new(StringComparer.Ordinal);
    private readonly Func<Bundle, byte[], IReadOnlyList<BundleModel>> _readManifest;
    private IReadOnlyList<BundleModel> _listed = Array.Empty<BundleModel>();

    private Bundle(string location, ZipFile? zip, Func<Bundle, byte[], IReadOnlyList<BundleModel>> readManifest)
    {
        Location = location;
        _zip = zip;
        _readManifest = readManifest;
    }

    /// <summary>The bundle's full path.</summary>
    public string Location { get; }

    public bool IsZip => _zip is not null;

    /// <summary>What the manifest lists, each with its catalog definition.</summary>
    public IReadOnlyList<(BundleModel Entry, ModelDefinition Model)> Models { get; private set; } = Array.Empty<(BundleModel, ModelDefinition)>();

    /// <summary>Models the local catalog does not know, defined by their checked <c>catalogEntry</c>; to be added to the user's catalog.</summary>
    public IReadOnlyList<ModelDefinition> NewModels { get; private set; } = Array.Empty<ModelDefinition>();

    /// <summary>What a bundle opened with <see cref="OpenHub"/> lists: hub cache files, each checked by the hub cache's rules.</summary>
    public IReadOnlyList<HubBundleFile> HubFiles { get; private set; } = Array.Empty<HubBundleFile>();

    /// <summary>SHA-256 of manifest.json as stored, to compare with the one Export-ModelCache printed.</summary>
    public string ManifestSha256 { get; private set; } = string.Empty;

    /// <summary>Opens and checks a bundle; throws a <see cref="ModelCacheException"/> naming what is wrong.</summary>
    public static Bundle Open(string path, ModelCatalog catalog) => Open(path, (bundle, bytes) =>
    {
        bundle.Models = BundleManifestReader.Read(bytes, catalog, bundle.Location);
        bundle.NewModels = bundle.Models.Select(m => m.Model).Where(m => !catalog.TryGet(m.Name, out _)).ToList();
        return bundle.Models.Select(m => m.Entry).ToList();
    });

    /// <summary>Opens and checks a bundle written with <c>Export-ModelCache -Layout HuggingFace</c>, with the same checks of its archive.</summary>
    public static Bundle OpenHub(string path) => Open(path, (bundle, bytes) =>
    {
        bundle.HubFiles = HubBundleManifestReader.Read(bytes, bundle.Location);
        return bundle.HubFiles.Select(f => f.Entry).ToList();
    });

    private static Bundle Open(string path, Func<Bundle, byte[], IReadOnlyList<BundleModel>> readManifest)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return OpenFolder(full, readManifest);
        }

        if (!File.Exists(full))
        {
            throw new ModelCacheException("BundleNotFound", ModelCacheErrorKind.NotFound, $"The bundle '{full}' does not exist.", "Check the path given to -LiteralPath.");
        }

        ZipFile zip;
        try
        {
            zip = new ZipFile(RegularFile.OpenRead(full));
        }
        catch (Exception ex) when (ex is ZipException or IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("BundleUnreadable", ModelCacheErrorKind.InvalidData, $"'{full}' is not a readable ZIP bundle: {ex.Message}",
                "Check that the file was copied completely, or export the bundle again.", ex);
        }

        var bundle = new Bundle(full, zip, readManifest);
        try
        {
            bundle.CheckZip();
            return bundle;
        }
        catch
        {
            bundle.Dispose();
            throw;
        }
    }

    /// <summary>The manifest entry of <paramref name="model"/>.</summary>
    public BundleModel EntryOf(ModelDefinition model) => Models.First(m => m.Model == model).Entry;

    /// <summary>The model's bytes, bounded to the manifest's size. Throws BundleEntryMissing when the bundle lacks it.</summary>
    public Stream OpenModel(ModelDefinition model) => OpenEntry(EntryOf(model));

    /// <summary>The bytes of a file the manifest lists, bounded to the manifest's size. Throws BundleEntryMissing when the bundle lacks it.</summary>
    public Stream OpenEntry(BundleModel entry)
    {
        var what = $"'{entry.FileName}' in the bundle '{Location}'";
        if (_zip is null)
        {
            var file = Path.Combine(Location, entry.FileName);
            if (!File.Exists(file))
            {
                throw Missing(entry);
            }

            if (!new FlatMirrorLayout(Location).IsContained(file))
            {
                throw new ModelCacheException(RootGuard.LinkErrorId, ModelCacheErrorKind.SecurityError, $"{what} is reached through a link; it is not read.",
                    "Put the file itself in the bundle folder, or export the bundle again.");
            }

            return new BoundedReadStream(RegularFile.Open(file, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.SequentialScan), entry.Size, what);
        }

        if (!_entries.TryGetValue(entry.FileName, out var zipEntry))
        {
            throw Missing(entry);
        }

        return new BoundedReadStream(_zip.GetInputStream(zipEntry), entry.Size, what);
    }

    public void Dispose() => ((IDisposable?)_zip)?.Dispose();

    private static Bundle OpenFolder(string folder, Func<Bundle, byte[], IReadOnlyList<BundleModel>> readManifest)
    {
        var bundle = new Bundle(folder, null, readManifest);
        if (ManifestOf(folder) is not { } manifestPath)
        {
            throw new ModelCacheException("BundleManifestMissing", ModelCacheErrorKind.InvalidData,
                $"The folder '{folder}' has no {BundleManifest.FileName}, so it is not a bundle.",
                "Export it with Export-ModelCache, or use the folder as a mirror: Save-Model <name> -Mirror <folder> -Offline.");
        }

        using (var manifest = RegularFile.OpenRead(manifestPath))
        {
            bundle.ReadManifest(manifest);
        }

        return bundle;
    }

    /// <summary>True when <paramref name="folder"/> is a bundle folder or a static mirror written by Export-ModelCache, not a plain folder of files.</summary>
    public static bool IsBundleFolder(string folder) => ManifestOf(folder) is not null;

    /// <summary>A bundle's manifest.json, else a static mirror's index.json (the same schema); never one reached through a link.</summary>
    private static string? ManifestOf(string folder) =>
        new[] { BundleManifest.FileName, BundleManifest.MirrorIndexFileName }
            .Select(name => Path.Combine(folder, name))
            .FirstOrDefault(path => File.Exists(path) && !CacheFiles.IsLink(path));

    private void CheckZip()
    {
        var all = new List<ZipEntry>();
        foreach (ZipEntry entry in _zip!)
        {
            all.Add(entry);
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in all)
        {
            if (!IsPlainEntryName(entry.Name))
            {
                throw EntryRefused(entry, "its name is not a plain file name (a folder, '..', an absolute path, a drive letter or a UNC path)");
            }

            if (entry.HostSystem == UnixHost && ((entry.ExternalFileAttributes >> 16) & UnixFileTypeMask) == UnixSymlink)
            {
                throw EntryRefused(entry, "it is a symbolic link", RootGuard.LinkErrorId, ModelCacheErrorKind.SecurityError);
            }

            if (entry.IsCrypted || !entry.IsFile)
            {
                throw EntryRefused(entry, "it is encrypted or not a plain file");
            }

            // Twice under names that differ only in case counts too: they are one file on Windows and macOS.
            if (!names.Add(entry.Name))
            {
                throw EntryRefused(entry, "the archive holds it twice");
            }

            _entries[entry.Name] = entry;
        }

        if (!_entries.TryGetValue(BundleManifest.FileName, out var manifestEntry))
        {
            throw BundleManifestReader.Invalid(Location, $"it has no {BundleManifest.FileName}");
        }

        if (manifestEntry.Size > BundleManifestReader.MaxManifestBytes)
        {
            throw BundleManifestReader.Invalid(Location, $"its manifest declares {manifestEntry.Size} bytes, over the {BundleManifestReader.MaxManifestBytes}-byte limit");
        }

        using (var manifest = new BoundedReadStream(_zip!.GetInputStream(manifestEntry), BundleManifestReader.MaxManifestBytes, $"{BundleManifest.FileName} in '{Location}'"))
        {
            ReadManifest(manifest);
        }

        var listed = new HashSet<string>(_listed.Select(m => m.FileName), StringComparer.Ordinal) { BundleManifest.FileName };
        foreach (var entry in _entries.Values)
        {
            if (!listed.Contains(entry.Name))
            {
                throw EntryRefused(entry, "the manifest does not list it");
            }

            var model = _listed.FirstOrDefault(m => m.FileName == entry.Name);
            if (model is not null && entry.Size != model.Size)
            {
                throw EntryRefused(entry, $"it declares {entry.Size} bytes, but the manifest says {model.Size}");
            }

            if (entry.CompressionMethod != CompressionMethod.Stored && entry.Size > 1 << 20 && entry.Size / Math.Max(1, entry.CompressedSize) > MaxCompressionRatio)
            {
                throw EntryRefused(entry, $"it would inflate {entry.Size / Math.Max(1, entry.CompressedSize)} times its stored size (a zip bomb)");
            }
        }
    }

    /// <summary>Reads the manifest once, bounded (a folder's manifest.json may be any size), hashes and checks those bytes.</summary>
    private void ReadManifest(Stream manifest)
    {
        var bytes = BundleManifestReader.ReadBounded(manifest, Location);
        ManifestSha256 = Sha256Hasher.HashBytes(bytes);
        _listed = _readManifest(this, bytes);
    }

    /// <summary>A single file name at the archive's root: no folder, no '..', no drive letter, no backslash.</summary>
    private static bool IsPlainEntryName(string name) =>
        CacheFiles.IsPlainFileName(name) && name.IndexOf(':') < 0 && name.Trim() == name && !name.Any(char.IsControl);

    private ModelCacheException EntryRefused(ZipEntry entry, string why, string id = "BundleEntryRefused", ModelCacheErrorKind kind = ModelCacheErrorKind.InvalidData) =>
        new(id, kind, $"The bundle '{Location}' cannot be imported: its entry '{Printable(entry.Name)}' is refused because {why}. Nothing was imported from it.",
            "The bundle is damaged or crafted: export it again from a trusted cache, and compare the manifest's SHA-256 with the one Export-ModelCache printed.");

    private ModelCacheException Missing(BundleModel entry) => new("BundleEntryMissing", ModelCacheErrorKind.NotFound,
        $"The bundle '{Location}' lists {entry.Name} but does not hold its file '{entry.FileName}'.", "Export the bundle again with that model in it.");

    private static string Printable(string name) => new(name.Select(c => char.IsControl(c) ? '?' : c).Take(120).ToArray());
}
