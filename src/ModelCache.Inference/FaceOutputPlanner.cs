using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ModelCache.Errors;

namespace ModelCache.Inference;

/// <summary>Where the outputs of one input image go; from <see cref="FaceOutputPlanner.Reserve"/>.</summary>
public sealed class FaceOutputPlan
{
    internal FaceOutputPlan(FaceOutputPlanner planner, string source, int occurrence, string? annotatedPath, string? cropStem)
    {
        Planner = planner;
        SourcePath = source;
        Occurrence = occurrence;
        AnnotatedPath = annotatedPath;
        CropStem = cropStem;
    }

    /// <summary>Full path of the input image.</summary>
    public string SourcePath { get; }

    /// <summary>0 for the first time this path was given, 1 for the second, …</summary>
    public int Occurrence { get; }

    /// <summary>Full path of the annotated copy, or null when no annotated root was given.</summary>
    public string? AnnotatedPath { get; }

    /// <summary>
    /// Full path, without extension, that crops are named from: <c>&lt;stem&gt;_face&lt;n&gt;&lt;ext&gt;</c>;
    /// null when no crop root was given.
    /// </summary>
    public string? CropStem { get; }

    /// <summary>Overwrite existing files (never a source image); the planner's force flag.</summary>
    public bool Force => Planner.Force;

    internal FaceOutputPlanner Planner { get; }
}

/// <summary>
/// Chooses distinct, stable output paths for annotated copies and face crops, so that outputs never
/// destroy inputs: an output is never a source image (full paths compared, case-insensitively on
/// Windows and macOS), never an existing file unless <see cref="Force"/>, and never another output
/// of the same run.
/// <para>
/// Naming: an input under <see cref="BaseDirectory"/> (or the base given to <see cref="Reserve"/>) keeps its relative folder under the output root
/// (<c>base/a/x.jpg</c> → <c>root/a/x.jpg</c>); any other input goes straight under the root. A name
/// already taken in this run (a repeat of the same path, or the same file name from another folder)
/// gets <c>-2</c>, <c>-3</c>, … before the extension: the n-th repeat of a path is always
/// <c>-(n+1)</c>, and names are otherwise handed out in reservation order, so reserving in input order
/// gives the same names on every run. <see cref="Reserve"/> is thread-safe and idempotent per
/// (source, occurrence).
/// </para>
/// </summary>
public sealed class FaceOutputPlanner
{
    private static readonly StringComparer PathComparer =
        Path.DirectorySeparatorChar == '\\' || System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.OSX)
            ? StringComparer.OrdinalIgnoreCase
            : StringComparer.Ordinal;

    private readonly object _gate = new();
    private readonly HashSet<string> _sources = new(PathComparer);
    private readonly HashSet<string> _taken = new(PathComparer);
    private readonly HashSet<string> _written = new(PathComparer);
    private readonly Dictionary<(string Source, int Occurrence), FaceOutputPlan> _plans = new();

    /// <param name="annotatedRoot">Folder for annotated copies, or null.</param>
    /// <param name="cropRoot">Folder for face crops, or null.</param>
    /// <param name="force">Overwrite existing files (never a source image).</param>
    /// <param name="baseDirectory">Inputs under it keep their relative folders under the roots (e.g. the folder a wildcard was expanded in, or <see cref="CommonBase"/> of the inputs); null puts every output straight under its root.</param>
    public FaceOutputPlanner(string? annotatedRoot, string? cropRoot, bool force = false, string? baseDirectory = null)
    {
        AnnotatedRoot = annotatedRoot is null ? null : Full(annotatedRoot);
        CropRoot = cropRoot is null ? null : Full(cropRoot);
        Force = force;
        BaseDirectory = baseDirectory is null ? null : Full(baseDirectory);
    }

    public string? AnnotatedRoot { get; }

    public string? CropRoot { get; }

    public bool Force { get; }

    public string? BaseDirectory { get; }

    /// <summary>The deepest folder that holds every one of <paramref name="paths"/>; null when none (different drives, or no paths).</summary>
    public static string? CommonBase(IEnumerable<string> paths)
    {
        string[]? common = null;
        foreach (var path in paths)
        {
            var parts = (Path.GetDirectoryName(Full(path)) ?? Full(path)).Split(Path.DirectorySeparatorChar);
            if (common is null)
            {
                common = parts;
                continue;
            }

            var n = 0;
            while (n < common.Length && n < parts.Length && PathComparer.Equals(common[n], parts[n]))
            {
                n++;
            }

            common = common.Take(n).ToArray();
        }

        if (common is null || common.Length == 0)
        {
            return null;
        }

        var joined = string.Join(Path.DirectorySeparatorChar.ToString(), common);
        return joined.Length == 0 ? Path.DirectorySeparatorChar.ToString() : joined.EndsWith(":", StringComparison.Ordinal) ? joined + Path.DirectorySeparatorChar : joined;
    }

    /// <summary>
    /// Registers input images known ahead (e.g. all inputs of a batch), so that no output is ever one of
    /// them even before they are reserved. Inputs are also registered by <see cref="Reserve"/>.
    /// </summary>
    public void AddSources(IEnumerable<string> sourcePaths)
    {
        lock (_gate)
        {
            foreach (var source in sourcePaths)
            {
                _sources.Add(Full(source));
            }
        }
    }

    /// <summary>
    /// The output paths for the <paramref name="occurrence"/>-th time (from 0) that
    /// <paramref name="sourcePath"/> is processed. Checks now (and again when writing) that no output is
    /// a source image or, unless <see cref="Force"/>, an existing file.
    /// </summary>
    /// <param name="sourcePath">The input image.</param>
    /// <param name="occurrence">How many times this path was reserved before.</param>
    /// <param name="baseDirectory">The folder this input was found in (e.g. a folder given with -Recurse): an input under it keeps its relative folders under the roots; null uses <see cref="BaseDirectory"/>.</param>
    /// <exception cref="ModelCacheException"><c>OutputWouldOverwriteSource</c> or <c>OutputExists</c> (both <see cref="ModelCacheErrorKind.WriteError"/>).</exception>
    public FaceOutputPlan Reserve(string sourcePath, int occurrence = 0, string? baseDirectory = null)
    {
        if (occurrence < 0)
        {
            throw new ModelCacheException("InvalidOccurrence", ModelCacheErrorKind.InvalidArgument, $"The occurrence must be 0 or more, not {occurrence}.", "Count repeats of a path from 0.");
        }

        var source = Full(sourcePath);
        lock (_gate)
        {
            if (_plans.TryGetValue((source, occurrence), out var known))
            {
                return known;
            }

            _sources.Add(source);
            var relative = RelativeName(source, baseDirectory is null ? BaseDirectory : Full(baseDirectory));
            var annotated = AnnotatedRoot is null ? null : Pick(Path.Combine(AnnotatedRoot, relative), source, occurrence, crop: false);
            var cropStem = CropRoot is null ? null : Pick(Path.Combine(CropRoot, relative), source, occurrence, crop: true);
            var plan = new FaceOutputPlan(this, source, occurrence, annotated, cropStem);
            _plans.Add((source, occurrence), plan);
            return plan;
        }
    }

    /// <summary>
    /// Claims <paramref name="outputPath"/> just before a write: fails if it is a source image, was already
    /// written in this run, or (without <see cref="Force"/>) exists. Thread-safe.
    /// </summary>
    internal void Claim(string outputPath, string source)
    {
        var full = Full(outputPath);
        lock (_gate)
        {
            if (_sources.Contains(full))
            {
                throw WouldOverwriteSource(full, source);
            }

            if (!_written.Add(full) || (!Force && File.Exists(full)))
            {
                throw Exists(full, source);
            }
        }
    }

    /// <summary>True when <paramref name="path"/> is a registered source image.</summary>
    internal bool IsSource(string path)
    {
        lock (_gate)
        {
            return _sources.Contains(Full(path));
        }
    }

    internal static ModelCacheException WouldOverwriteSource(string output, string source) => new(
        "OutputWouldOverwriteSource", ModelCacheErrorKind.WriteError,
        $"The output '{output}' for '{source}' would overwrite a source image; it was not written.",
        "Write annotated copies and crops to another folder than the photos (-AnnotatedPath, -CropPath); -Force never overwrites a source image.");

    internal static ModelCacheException Exists(string output, string source) => new(
        "OutputExists", ModelCacheErrorKind.WriteError,
        $"The output '{output}' for '{source}' already exists; it was not overwritten.",
        "Use -Force to overwrite earlier outputs, or write to another folder.");

    private static string RelativeName(string source, string? baseDirectory)
    {
        if (baseDirectory is not null)
        {
            var prefix = baseDirectory.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? baseDirectory : baseDirectory + Path.DirectorySeparatorChar;
            if (source.StartsWith(prefix, PathComparer == StringComparer.Ordinal ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase))
            {
                return source.Substring(prefix.Length);
            }
        }

        return Path.GetFileName(source);
    }

    private string Pick(string wanted, string source, int occurrence, bool crop)
    {
        var directory = Path.GetDirectoryName(wanted)!;
        var stem = Path.GetFileNameWithoutExtension(wanted);
        var extension = crop ? string.Empty : Path.GetExtension(wanted);

        // The n-th repeat of a path is -(n+1) whatever the order; a clash with another source's name counts on.
        for (var n = occurrence == 0 ? 1 : occurrence + 1; ; n++)
        {
            var candidate = Path.Combine(directory, stem + (n == 1 ? string.Empty : "-" + n.ToString(CultureInfo.InvariantCulture)) + extension);
            if (_taken.Contains(candidate))
            {
                continue;
            }

            if (!crop)
            {
                if (_sources.Contains(candidate))
                {
                    throw WouldOverwriteSource(candidate, source);
                }

                if (!Force && File.Exists(candidate))
                {
                    throw Exists(candidate, source);
                }
            }

            _taken.Add(candidate);
            return candidate;
        }
    }

    private static string Full(string path) => Path.GetFullPath(path);
}
