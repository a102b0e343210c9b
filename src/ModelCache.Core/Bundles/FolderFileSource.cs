using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Primitives;
using ModelCache.Layouts;
using ModelCache.Transfer;

namespace ModelCache.Bundles;

/// <summary>
/// The files a <see cref="FolderScanner"/> matched, as one more source for the saver: each model is read from its
/// matched file (checked again for links when opened), bounded to the size scanned, and hashed in full by the
/// saver before it gets its final name, so a file named like a model but holding other bytes is never placed.
/// </summary>
public sealed class FolderFileSource : IModelSource
{
    private readonly FlatMirrorLayout _root;
    private readonly Dictionary<string, FolderMatch> _matches;

    /// <param name="scan">The matched files.</param>
    /// <param name="kind">How results name where the bytes came from: a folder import's Bundle, or Import-Model's File.</param>
    public FolderFileSource(FolderScan scan, TransferSource kind = TransferSource.Bundle)
    {
        _root = new FlatMirrorLayout(scan.Root);
        _matches = scan.Matches.ToDictionary(m => m.Model.Name, StringComparer.OrdinalIgnoreCase);
        Kind = kind;
    }

    public TransferSource Kind { get; }

    public bool IsNetwork => false;

    public string Locate(ModelDefinition model) => _matches[model.Name].File;

    /// <summary>Always from the start: the file is not a download that can be resumed into.</summary>
    public Task<SourceContent> OpenAsync(ModelDefinition model, ResumePoint? resume, CancellationToken cancellationToken)
    {
        var match = _matches[model.Name];
        if (!_root.IsContained(match.File))
        {
            throw TransferException.Permanent(RootGuard.LinkErrorId, ModelCacheErrorKind.SecurityError,
                $"'{match.File}' in '{_root.Root}' is reached through a link, so {model.Name} is not read from it.",
                $"Put the file '{model.FileName}' itself in the folder.");
        }

        try
        {
            var stream = RegularFile.Open(match.File, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult(new SourceContent(new BoundedReadStream(stream, match.Size, $"'{match.File}'"), 0, match.Size, match.File, validator: null));
        }
        catch (NotARegularFileException ex)
        {
            throw TransferException.NotARegularFile(model.Name, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw TransferException.Permanent("SourceReadFailed", ModelCacheErrorKind.ReadError,
                $"Cannot read '{match.File}' for {model.Name}: {ex.Message}", "Check that the file is still there and readable.", ex);
        }
    }
}
