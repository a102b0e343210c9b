using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.Inference;

namespace ModelCache.PowerShell.Hosting;

/// <summary>A face-detection run's outcomes and progress as a cmdlet writes them: results or faces, error records, progress records.</summary>
internal static class FaceDetectionOutput
{
    /// <summary>
    /// The result (or, with <paramref name="asFace"/>, each face) as output; a failure as a non-terminating error, so the batch goes on:
    /// a known one with its own id, anything else as FaceDetectionFailed.
    /// </summary>
    public static void Write(Cmdlet cmdlet, FaceDetectionOutcome outcome, bool asFace)
    {
        if (outcome.Result is { } result)
        {
            cmdlet.WriteObject(asFace ? result.Faces : (object)result, enumerateCollection: asFace);
        }
        else if (outcome.Error is ModelCacheException failure)
        {
            cmdlet.WriteError(ErrorRecords.From(failure, outcome.Item.Tag));
        }
        else if (outcome.Error is { } ex)
        {
            cmdlet.WriteError(ErrorRecords.Create("FaceDetectionFailed", ErrorCategory.InvalidResult, $"Face detection failed on '{outcome.Item.Path}': {ex.Message}", null, outcome.Item.Tag, ex));
        }
    }

    /// <summary>The run's progress record, or null when it is not yet time for one (see <see cref="FaceDetectionRun.Progress"/>).</summary>
    public static ProgressRecord? Progress(FaceDetectionRun run, bool inputEnded, bool force) =>
        run.Progress(inputEnded, force) is { } progress
            ? new ProgressRecord(1, "Detecting faces (" + run.ModelName + ")", progress.Status)
            {
                PercentComplete = progress.PercentComplete, RecordType = progress.Done ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            }
            : null;
}
