using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;

namespace ModelCache.Inference;

/// <summary>
/// Keeps one <see cref="FaceDetector"/> (one ONNX Runtime session) per model file and thread
/// setting, created on first use and shared by every caller. Thread-safe; dispose it to free the
/// sessions.
/// </summary>
public sealed class FaceDetectorPool : IDisposable
{
    private readonly ConcurrentDictionary<(string Path, int Threads), Lazy<FaceDetector>> _detectors = new();
    private volatile bool _disposed;

    /// <summary>Number of sessions currently loaded.</summary>
    public int Count => _detectors.Values.Count(d => d.IsValueCreated);

    /// <summary>The detector for <paramref name="modelPath"/>, loading it on first use.</summary>
    public FaceDetector Get(string modelPath, FaceDetectorSettings? settings = null) => Get(modelPath, settings, out _);

    /// <summary>
    /// The detector for <paramref name="modelPath"/>; <paramref name="created"/> tells whether this call
    /// created its session (false when an earlier or concurrent call did).
    /// </summary>
    public FaceDetector Get(string modelPath, FaceDetectorSettings? settings, out bool created)
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(FaceDetectorPool));
        }

        settings ??= new FaceDetectorSettings();
        var key = (NormalizePath(modelPath), settings.IntraOpThreads);
        var createdHere = false;
        var lazy = _detectors.GetOrAdd(key, _ => new Lazy<FaceDetector>(() =>
        {
            var detector = new FaceDetector(modelPath, settings);
            createdHere = true;
            return detector;
        }));
        try
        {
            var detector = lazy.Value;
            created = createdHere;
            return detector;
        }
        catch
        {
            // Do not cache a failure: the file may be fixed (or saved) before the next call.
            ((System.Collections.Generic.ICollection<System.Collections.Generic.KeyValuePair<(string, int), Lazy<FaceDetector>>>)_detectors)
                .Remove(new System.Collections.Generic.KeyValuePair<(string, int), Lazy<FaceDetector>>(key, lazy));
            throw;
        }
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var key in _detectors.Keys.ToList())
        {
            if (_detectors.TryRemove(key, out var lazy) && lazy.IsValueCreated)
            {
                lazy.Value.Dispose();
            }
        }
    }

    private static string NormalizePath(string path)
    {
        var full = Path.GetFullPath(path);
        return Path.DirectorySeparatorChar == '\\' ? full.ToUpperInvariant() : full;
    }
}
