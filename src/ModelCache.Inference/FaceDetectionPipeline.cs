using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace ModelCache.Inference;

/// <summary>One image to detect faces in, with the caller's position and data.</summary>
public sealed class FaceDetectionWorkItem
{
    public FaceDetectionWorkItem(long index, string path, int occurrence = 0, object? tag = null)
    {
        Index = index;
        Path = path;
        Occurrence = occurrence;
        Tag = tag;
    }

    /// <summary>Position in the input (0 for the first image added).</summary>
    public long Index { get; }

    public string Path { get; }

    /// <summary>How many times this same path came earlier in the input (0 for its first occurrence).</summary>
    public int Occurrence { get; }

    /// <summary>Anything the caller wants back with the outcome (e.g. the input object for error records).</summary>
    public object? Tag { get; }
}

/// <summary>What became of one <see cref="FaceDetectionWorkItem"/>: a result, or the failure.</summary>
public sealed class FaceDetectionOutcome
{
    internal FaceDetectionOutcome(FaceDetectionWorkItem item, FaceDetectionResult? result, Exception? error, TimeSpan decodeTime, TimeSpan inferenceTime)
    {
        Item = item;
        Result = result;
        Error = error;
        DecodeTime = decodeTime;
        InferenceTime = inferenceTime;
    }

    public FaceDetectionWorkItem Item { get; }

    public FaceDetectionResult? Result { get; }

    /// <summary>The failure (usually a ModelCacheException naming the file), when there is no result.</summary>
    public Exception? Error { get; }

    /// <summary>Time spent decoding, resizing and writing the input tensor.</summary>
    public TimeSpan DecodeTime { get; }

    /// <summary>Time spent in the inference stage (session runs, postprocessing, NMS and the after-detect step).</summary>
    public TimeSpan InferenceTime { get; }
}

/// <summary>
/// Streaming face detection over one shared session, in one of two shapes. Split: a bounded queue of inputs, a decode
/// stage (decode, resize, write the input tensor into a pooled buffer) with its own workers, a bounded queue of prepared
/// tensors, and an inference stage of <c>parallelImages</c> workers. Fused (<c>decodeWorkers</c> 0): <c>parallelImages</c>
/// workers that each decode an image and run it back to back, the shape of a hand-written loop; when every core already
/// has such a worker, separate decoders only add threads that compete for the same cores and a hand-off per image
/// (issue 22: on 2 cores the split shape reached 0.6–0.8× of the loop, the fused one the loop's speed). Outcomes come out
/// as they complete; the caller bounds how many items it keeps in flight (see <see cref="MaxInFlight"/>), so memory stays
/// bounded: at most decode workers + prepared queue + inference workers tensors exist (fused: one per worker).
/// </summary>
public sealed class FaceDetectionPipeline : IDisposable
{
    private readonly FaceDetector _detector;
    private readonly FaceDetectionOptions _options;
    private readonly Action<FaceDetectionWorkItem, FaceDetectionResult>? _afterDetect;
    private readonly BlockingCollection<FaceDetectionWorkItem> _input;
    private readonly BlockingCollection<(FaceDetectionWorkItem Item, PreparedImage? Prepared, Exception? Error)> _prepared;
    private readonly BlockingCollection<FaceDetectionOutcome> _outcomes = new();
    private readonly CancellationTokenSource _cancel;
    private readonly Task[] _workers;
    private int _decodersLeft;
    private int _inferrersLeft;
    private bool _disposed;

    /// <param name="detector">The shared session.</param>
    /// <param name="options">Detection options for every image.</param>
    /// <param name="parallelImages">Inference workers (images in the session at once).</param>
    /// <param name="decodeWorkers">Decode workers feeding them; 0 for the fused shape, where each inference worker decodes its own images.</param>
    /// <param name="afterDetect">Runs on the inference worker after each result (e.g. write annotated copies); an exception fails that image only.</param>
    /// <param name="cancellationToken">Stops every worker.</param>
    public FaceDetectionPipeline(FaceDetector detector, FaceDetectionOptions options, int parallelImages, int decodeWorkers, Action<FaceDetectionWorkItem, FaceDetectionResult>? afterDetect = null, CancellationToken cancellationToken = default)
    {
        if (parallelImages < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(parallelImages));
        }

        if (decodeWorkers < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(decodeWorkers));
        }

        _detector = detector ?? throw new ArgumentNullException(nameof(detector));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _afterDetect = afterDetect;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _input = new BlockingCollection<FaceDetectionWorkItem>(decodeWorkers + parallelImages);
        _prepared = new BlockingCollection<(FaceDetectionWorkItem, PreparedImage?, Exception?)>(parallelImages);
        MaxInFlight = (2 * decodeWorkers) + (3 * parallelImages);
        _decodersLeft = decodeWorkers;
        _inferrersLeft = parallelImages;
        Fused = decodeWorkers == 0;
        var workers = new List<Task>();
        for (var i = 0; i < decodeWorkers; i++)
        {
            workers.Add(Task.Factory.StartNew(DecodeLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        }

        for (var i = 0; i < parallelImages; i++)
        {
            workers.Add(Task.Factory.StartNew(Fused ? FusedLoop : InferLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        }

        _workers = workers.ToArray();
    }

    /// <summary>True when each worker decodes and runs its own images (no decode stage).</summary>
    public bool Fused { get; }

    /// <summary>Items a caller should keep in flight at most (added but not yet taken): enough to keep every stage busy.</summary>
    public int MaxInFlight { get; }

    /// <summary>Queues an image; blocks while the input queue is full.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> or the pipeline's token was cancelled.</exception>
    public void Add(FaceDetectionWorkItem item, CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancel.Token);
        _input.Add(item, linked.Token);
    }

    /// <summary>No more images: the outcomes end once the queued ones are done.</summary>
    public void CompleteAdding() => _input.CompleteAdding();

    /// <summary>An outcome that is ready now, without waiting.</summary>
    public bool TryTake(out FaceDetectionOutcome? outcome) => _outcomes.TryTake(out outcome);

    /// <summary>Waits for the next outcome; false when every image is done and <see cref="CompleteAdding"/> was called.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public bool Take(out FaceDetectionOutcome? outcome, CancellationToken cancellationToken)
    {
        try
        {
            return _outcomes.TryTake(out outcome, Timeout.Infinite, cancellationToken);
        }
        catch (InvalidOperationException)
        {
            outcome = null;
            return false;
        }
    }

    /// <summary>Stops the workers (pending images are dropped) and returns every pooled buffer.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _cancel.Cancel();
        try
        {
            Task.WaitAll(_workers);
        }
        catch (AggregateException)
        {
            // Workers end with cancellation; their per-image failures were already outcomes.
        }

        while (_prepared.TryTake(out var left))
        {
            left.Prepared?.Dispose();
        }

        _input.Dispose();
        _prepared.Dispose();
        _outcomes.Dispose();
        _cancel.Dispose();
    }

    private void DecodeLoop()
    {
        var token = _cancel.Token;
        try
        {
            foreach (var item in _input.GetConsumingEnumerable(token))
            {
                PreparedImage? prepared = null;
                Exception? error = null;
                try
                {
                    prepared = _detector.Prepare(item.Path, _options, token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    error = ex;
                }

                try
                {
                    _prepared.Add((item, prepared, error), token);
                }
                catch
                {
                    prepared?.Dispose();
                    throw;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            if (Interlocked.Decrement(ref _decodersLeft) == 0)
            {
                _prepared.CompleteAdding();
            }
        }
    }

    /// <summary>The fused shape: decode, run, hand back, next image; the tensor buffer goes back to the detector's pool at once.</summary>
    private void FusedLoop()
    {
        var token = _cancel.Token;
        try
        {
            foreach (var item in _input.GetConsumingEnumerable(token))
            {
                FaceDetectionResult? result = null;
                Exception? error = null;
                PreparedImage? prepared = null;
                var decodeTime = TimeSpan.Zero;
                var inference = new System.Diagnostics.Stopwatch();
                try
                {
                    prepared = _detector.Prepare(item.Path, _options, token);
                    decodeTime = prepared.DecodeTime;
                    inference.Start();
                    result = _detector.Complete(prepared, token);
                    _afterDetect?.Invoke(item, result);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    result = null;
                    error = ex;
                }
                finally
                {
                    prepared?.Dispose();
                }

                _outcomes.Add(new FaceDetectionOutcome(item, result, error, decodeTime, inference.Elapsed), token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            if (Interlocked.Decrement(ref _inferrersLeft) == 0)
            {
                _outcomes.CompleteAdding();
            }
        }
    }

    private void InferLoop()
    {
        var token = _cancel.Token;
        try
        {
            foreach (var (item, prepared, decodeError) in _prepared.GetConsumingEnumerable(token))
            {
                FaceDetectionResult? result = null;
                var error = decodeError;
                var started = System.Diagnostics.Stopwatch.StartNew();
                if (prepared is not null)
                {
                    try
                    {
                        result = _detector.Complete(prepared, token);
                        _afterDetect?.Invoke(item, result);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        result = null;
                        error = ex;
                    }
                    finally
                    {
                        prepared.Dispose();
                    }
                }

                _outcomes.Add(new FaceDetectionOutcome(item, result, error, prepared?.DecodeTime ?? TimeSpan.Zero, started.Elapsed), token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            if (Interlocked.Decrement(ref _inferrersLeft) == 0)
            {
                _outcomes.CompleteAdding();
            }
        }
    }
}
