using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using ModelCache.Errors;
using ModelCache.Integrity;

namespace ModelCache.Inference;

/// <summary>
/// Keeps one <see cref="FaceDetector"/> (one ONNX Runtime session) per model file, model identity and
/// thread setting and whether it is a pre-optimized copy, created on first use and shared by every caller. The identity is what the caller
/// knows of the file's content (its SHA-256, or a <see cref="FileFingerprint"/>): a model replaced at
/// the same path (<c>Save-Model -Force</c>) has another identity and gets a new session, while callers
/// still holding the old one keep it until they return it.
/// <para>
/// Callers <see cref="Rent(string, string, FaceDetectorSettings?)"/> a lease and dispose it when done;
/// a session is disposed only when no lease holds it: after <see cref="IdleTimeout"/> without leases
/// (checked by a timer and by <see cref="EvictIdle"/>), or on <see cref="Dispose"/> (at once when idle,
/// else when its last lease is returned). Thread-safe.
/// </para>
/// </summary>
public sealed class FaceDetectorPool : IDisposable
{
    /// <summary>Idle time after which an unleased session is disposed, unless the constructor says otherwise.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(10);

    private readonly object _gate = new();
    private readonly Dictionary<(string Path, string Identity, int Threads, bool Spinning, bool PreOptimized, int Level), Entry> _entries = new();
    private readonly Func<long> _clock;
    private readonly Timer? _timer;
    private bool _disposed;

    /// <summary>A pool whose idle sessions are disposed after <see cref="DefaultIdleTimeout"/>.</summary>
    public FaceDetectorPool()
        : this(DefaultIdleTimeout)
    {
    }

    /// <summary>
    /// A pool whose sessions are disposed after <paramref name="idleTimeout"/> without a lease;
    /// <see cref="Timeout.InfiniteTimeSpan"/> keeps them until the pool is disposed.
    /// </summary>
    public FaceDetectorPool(TimeSpan idleTimeout)
        : this(idleTimeout, null, startTimer: true)
    {
    }

    /// <summary>For tests: a clock in ticks, and no background timer (call <see cref="EvictIdle"/>).</summary>
    internal FaceDetectorPool(TimeSpan idleTimeout, Func<long>? clock, bool startTimer)
    {
        if (idleTimeout <= TimeSpan.Zero && idleTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ModelCacheException("InvalidIdleTimeout", ModelCacheErrorKind.InvalidArgument,
                $"The idle timeout must be positive or infinite, not {idleTimeout}.", "Pass a positive TimeSpan or Timeout.InfiniteTimeSpan.");
        }

        IdleTimeout = idleTimeout;
        _clock = clock ?? (() => DateTime.UtcNow.Ticks);
        if (startTimer && idleTimeout != Timeout.InfiniteTimeSpan)
        {
            var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, Math.Min(idleTimeout.Ticks / 2, TimeSpan.TicksPerMinute)));
            _timer = new Timer(_ => EvictIdle(), null, period, period);
        }
    }

    /// <summary>How often at most a warm process rewrites a model's LastUsed (see <see cref="UseRecordedRecently"/>).</summary>
    public static readonly TimeSpan UseRecordInterval = TimeSpan.FromMinutes(1);

    // When this process last recorded a use of each model file (path and content), by the pool's clock; bounded.
    private const int MaxUseRecords = 1024;
    private readonly Dictionary<(string Path, string Identity), long> _usesRecorded = new();

    /// <summary>
    /// True when this process recorded a use of the model file at <paramref name="modelPath"/> with content
    /// <paramref name="modelIdentity"/> less than <see cref="UseRecordInterval"/> ago, so a caller that has just verified
    /// the file may skip rewriting its metadata; false (the caller records it and calls <see cref="NoteUseRecorded"/>)
    /// otherwise.
    /// </summary>
    public bool UseRecordedRecently(string modelPath, string? modelIdentity)
    {
        lock (_gate)
        {
            return _usesRecorded.TryGetValue((NormalizePath(modelPath), (modelIdentity ?? string.Empty).ToUpperInvariant()), out var at)
                && _clock() - at < UseRecordInterval.Ticks;
        }
    }

    /// <summary>Remembers that a use of the model file was recorded now (see <see cref="UseRecordedRecently"/>).</summary>
    public void NoteUseRecorded(string modelPath, string? modelIdentity)
    {
        lock (_gate)
        {
            if (_usesRecorded.Count >= MaxUseRecords)
            {
                _usesRecorded.Clear();
            }

            _usesRecorded[(NormalizePath(modelPath), (modelIdentity ?? string.Empty).ToUpperInvariant())] = _clock();
        }
    }

    /// <summary>How long a session may stay without a lease before it is disposed.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>Number of sessions currently loaded (leased or idle).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Values.Count(e => e.Detector is not null) + _retired.Count;
            }
        }
    }

    // Sessions no longer reachable by key (pool disposed) that still have leases; disposed with their last lease.
    private readonly List<Entry> _retired = new();

    /// <summary>
    /// The detector for <paramref name="modelPath"/>, loading it on first use. Kept for callers that
    /// do not lease: the file's current fingerprint (<see cref="FileIdentity.Read"/>) is its identity,
    /// and a detector handed out here is never evicted as idle, only disposed with the pool.
    /// </summary>
    public FaceDetector Get(string modelPath, FaceDetectorSettings? settings = null) => Get(modelPath, settings, out _);

    /// <summary>
    /// As <see cref="Get(string, FaceDetectorSettings?)"/>; <paramref name="created"/> tells whether this
    /// call created its session (false when an earlier or concurrent call did).
    /// </summary>
    public FaceDetector Get(string modelPath, FaceDetectorSettings? settings, out bool created)
    {
        var identity = FileIdentity.Read(Path.GetFullPath(modelPath))?.ToString() ?? string.Empty;
        var entry = Acquire(modelPath, identity, settings, pin: true, out created);
        return entry.Detector!;
    }

    /// <summary>
    /// Leases the session for the model at <paramref name="modelPath"/> whose content is
    /// <paramref name="modelIdentity"/> (e.g. the verified SHA-256 of the cache entry, or
    /// <see cref="FileFingerprint.ToString"/>), loading it on first use. Dispose the lease when the
    /// detector is no longer used; until then the session is neither evicted nor disposed.
    /// </summary>
    /// <exception cref="ModelCacheException">The model cannot be loaded (<c>ModelFileNotFound</c>, <c>ModelLoadFailed</c>, …) or the pool is disposed (<c>DetectorPoolDisposed</c>).</exception>
    public FaceDetectorLease Rent(string modelPath, string modelIdentity, FaceDetectorSettings? settings = null) =>
        Rent(modelPath, modelIdentity, settings, out _);

    /// <summary>As <see cref="Rent(string, string, FaceDetectorSettings?)"/>; <paramref name="created"/> tells whether this call created the session.</summary>
    public FaceDetectorLease Rent(string modelPath, string modelIdentity, FaceDetectorSettings? settings, out bool created)
    {
        if (modelIdentity is null)
        {
            throw new ModelCacheException("ModelIdentityMissing", ModelCacheErrorKind.InvalidArgument,
                "A model identity (SHA-256 or file fingerprint) is required to lease a detector.", "Pass the cache entry's Sha256.");
        }

        var entry = Acquire(modelPath, modelIdentity, settings, pin: false, out created);
        return new FaceDetectorLease(this, entry);
    }

    /// <summary>Disposes every session idle for at least <see cref="IdleTimeout"/>; returns how many.</summary>
    public int EvictIdle()
    {
        if (IdleTimeout == Timeout.InfiniteTimeSpan)
        {
            return 0;
        }

        var victims = new List<FaceDetector>();
        lock (_gate)
        {
            var now = _clock();
            foreach (var pair in _entries.ToList())
            {
                var e = pair.Value;
                if (e.Detector is not null && e.Leases == 0 && !e.Pinned && now - e.LastReturned >= IdleTimeout.Ticks)
                {
                    _entries.Remove(pair.Key);
                    victims.Add(e.Detector);
                }
            }
        }

        foreach (var detector in victims)
        {
            DisposeSession(detector);
        }

        return victims.Count;
    }

    /// <summary>
    /// Disposes the idle sessions now; a leased session is disposed when its last lease is returned.
    /// Later calls to <see cref="Rent(string, string, FaceDetectorSettings?)"/> or Get fail with <c>DetectorPoolDisposed</c>.
    /// </summary>
    public void Dispose()
    {
        var victims = new List<FaceDetector>();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var e in _entries.Values)
            {
                if (e.Detector is null)
                {
                    continue;
                }

                if (e.Leases == 0)
                {
                    victims.Add(e.Detector);
                }
                else
                {
                    _retired.Add(e);
                }
            }

            _entries.Clear();
        }

        _timer?.Dispose();
        foreach (var detector in victims)
        {
            DisposeSession(detector);
        }
    }

    internal void Return(Entry entry)
    {
        FaceDetector? victim = null;
        lock (_gate)
        {
            entry.Leases--;
            entry.LastReturned = _clock();
            if (entry.Leases == 0 && _retired.Remove(entry))
            {
                victim = entry.Detector;
            }
        }

        if (victim is not null)
        {
            DisposeSession(victim);
        }
    }

    private Entry Acquire(string modelPath, string identity, FaceDetectorSettings? settings, bool pin, out bool created)
    {
        settings ??= new FaceDetectorSettings();
        // Hex digests compare case-insensitively; an optimized copy's session is never the original's.
        var key = (NormalizePath(modelPath), identity.ToUpperInvariant(), settings.IntraOpThreads, settings.AllowSpinning, settings.PreOptimized, (int)(settings.OptimizationLevel ?? GraphOptimizationLevel.ORT_ENABLE_ALL));
        Entry? entry;
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_entries.TryGetValue(key, out entry))
            {
                entry = new Entry();
                _entries.Add(key, entry);
            }

            // Counted before loading so that no eviction can take it between load and hand-out.
            entry.Leases++;
        }

        created = false;
        try
        {
            lock (entry.LoadGate)
            {
                if (entry.Detector is null)
                {
                    var detector = new FaceDetector(modelPath, settings);
                    lock (_gate)
                    {
                        entry.Detector = detector;
                    }

                    created = true;
                }
            }
        }
        catch
        {
            lock (_gate)
            {
                // Do not cache a failure: the file may be fixed (or saved) before the next call.
                entry.Leases--;
                if (entry.Detector is null && entry.Leases == 0 && _entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
                {
                    _entries.Remove(key);
                }
            }

            throw;
        }

        if (pin)
        {
            lock (_gate)
            {
                entry.Pinned = true;
                entry.Leases--;
                entry.LastReturned = _clock();
            }
        }

        return entry;
    }

    /// <summary>Sessions this pool has disposed (for tests).</summary>
    internal int SessionsDisposed => Volatile.Read(ref _sessionsDisposed);

    private int _sessionsDisposed;

    private void DisposeSession(FaceDetector detector)
    {
        detector.Dispose();
        Interlocked.Increment(ref _sessionsDisposed);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ModelCacheException("DetectorPoolDisposed", ModelCacheErrorKind.InvalidOperation,
                "The face detector pool has been disposed (the module was removed).", "Import the module again.");
        }
    }

    private static string NormalizePath(string path)
    {
        var full = Path.GetFullPath(path);
        return Path.DirectorySeparatorChar == '\\' ? full.ToUpperInvariant() : full;
    }

    internal sealed class Entry
    {
        public readonly object LoadGate = new();

        public FaceDetector? Detector { get; set; }

        public int Leases { get; set; }

        public bool Pinned { get; set; }

        public long LastReturned { get; set; }
    }
}

/// <summary>
/// A detector leased from a <see cref="FaceDetectorPool"/>; dispose it to return it (once; later
/// disposals do nothing). <see cref="FaceDetector.Detect"/> on it is thread-safe, so one lease may be
/// shared by the worker threads of one batch.
/// </summary>
public sealed class FaceDetectorLease : IDisposable
{
    private readonly FaceDetectorPool _pool;
    private readonly FaceDetectorPool.Entry _entry;
    private int _returned;

    internal FaceDetectorLease(FaceDetectorPool pool, FaceDetectorPool.Entry entry)
    {
        _pool = pool;
        _entry = entry;
        Detector = entry.Detector!;
    }

    /// <summary>The leased detector; do not use it after disposing the lease.</summary>
    public FaceDetector Detector { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0)
        {
            _pool.Return(_entry);
        }
    }
}
