using System;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Primitives;
using ModelCache.Layouts;

namespace ModelCache.Transfer;

/// <summary>
/// Files on a local or mounted file system: a mirror directory (an offline copy, a share, a fixtures
/// folder) holding models by cache file name, or the <c>file://</c> URL of a user catalog entry.
/// </summary>
public sealed class DirectorySource : IModelSource
{
    private readonly string? _directory;

    private DirectorySource(string? directory, TransferSource kind)
    {
        _directory = directory is null ? null : Path.GetFullPath(directory);
        Kind = kind;
    }

    public TransferSource Kind { get; }

    public bool IsNetwork => false;

    public static DirectorySource Mirror(string directory) => new(directory, TransferSource.Mirror);

    /// <summary>Reads each model from its own catalog URL, which must be a <c>file://</c> URL.</summary>
    public static DirectorySource UpstreamFile() => new(null, TransferSource.Upstream);

    /// <summary>
    /// The catalog URL's path upstream; for a mirror, <c>&lt;dir&gt;/&lt;FileName&gt;</c>, or the model's place
    /// in a cache root when the directory is a copied cache (<c>models/&lt;Family&gt;/&lt;Member&gt;/&lt;FileName&gt;</c>).
    /// </summary>
    public string Locate(ModelDefinition model)
    {
        if (_directory is null)
        {
            return model.Url?.LocalPath ?? throw new InvalidOperationException($"{model.Name} has no url; the upstream file source is planned only for file: URLs.");
        }

        var flat = new FlatMirrorLayout(_directory).GetModelPath(model);
        var inCacheRoot = new NativeLayout(_directory).GetModelPath(model);
        return !File.Exists(flat) && File.Exists(inCacheRoot) ? inCacheRoot : flat;
    }

    /// <summary>
    /// A mirror directory is a root like any cache: a file reached through a link under it is refused, so a copy
    /// from a stranger cannot make a save read files elsewhere on this machine.
    /// </summary>
    private void EnsureContained(ModelDefinition model, string path)
    {
        if (_directory is not null && !new FlatMirrorLayout(_directory).IsContained(path))
        {
            throw TransferException.Permanent(RootGuard.LinkErrorId, ModelCacheErrorKind.SecurityError,
                $"'{path}' in the mirror '{_directory}' is reached through a link, so {model.Name} is not read from it.",
                $"Put the file '{model.FileName}' itself in the mirror directory, or use another mirror.");
        }
    }

    public Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken)
    {
        // A mistyped or unmounted mirror is one missing folder, not a missing file per model.
        if (_directory is not null && !Directory.Exists(_directory))
        {
            throw TransferException.Permanent("SourceFileNotFound", ModelCacheErrorKind.NotFound,
                $"The mirror folder '{_directory}' does not exist, so {model.Name} cannot be read from it.",
                "Check the -Mirror value (or $env:MODELCACHE_MIRROR), or mount the folder.");
        }

        var path = Locate(model);
        EnsureContained(model, path);
        return Task.FromResult(_directory is null
            ? OpenFile(model, path, resume, $"Fix the url of {model.Name}'s catalog entry, or put the file where it points; -Mirror or $env:MODELCACHE_MIRROR can name a folder holding '{model.FileName}'.",
                "Check the permissions of the file the catalog URL names.")
            : OpenFile(model, path, resume, $"Copy '{model.FileName}' into the mirror directory, or use another mirror.", "Check the mirror directory's permissions."));
    }

    /// <summary>
    /// Opens a local model file, resumable when <paramref name="resume"/> was recorded against the same file (its write
    /// time and length are the validator). Shared by every source that reads local files.
    /// </summary>
    internal static SourceContent OpenFile(ModelDefinition model, string path, ResumePoint? resume, string missingAction, string readAction)
    {
        try
        {
            var stream = RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var validator = File.GetLastWriteTimeUtc(path).Ticks.ToString(CultureInfo.InvariantCulture) + "-" + stream.Length.ToString(CultureInfo.InvariantCulture);
            var offset = resume is not null && resume.Validator == validator && resume.Offset <= stream.Length ? resume.Offset : 0;
            stream.Seek(offset, SeekOrigin.Begin);
            return new SourceContent(stream, offset, stream.Length, path, validator);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw TransferException.Permanent("SourceFileNotFound", ModelCacheErrorKind.NotFound,
                $"'{path}' does not exist, so {model.Name} cannot be read from it.", missingAction, ex);
        }
        catch (NotARegularFileException ex)
        {
            throw TransferException.NotARegularFile(model.Name, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw TransferException.Permanent("SourceReadFailed", ModelCacheErrorKind.ReadError,
                $"Cannot read '{path}' for {model.Name}: {ex.Message}", readAction, ex);
        }
    }
}
