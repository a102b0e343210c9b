using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ModelCache.Catalog;

/// <summary>
/// The catalog's task vocabulary: uniface's task names (the built-in catalog and uniface's own list), plus
/// <c>unknown</c> for a model whose task is not given. Import-Model and bundles accept only these.
/// </summary>
public static class ModelTasks
{
    public const string FaceDetection = "face_detection";

    public const string Unknown = "unknown";

    /// <summary>Every task, sorted.</summary>
    public static IReadOnlyList<string> All { get; } = new[]
    {
        "age_gender", "anti_spoofing", "emotion", FaceDetection, "face_parsing_bisenet", "face_quality", "face_recognition",
        "face_segmentation_xseg", "fairface_race_gender_agegroup", "gaze_estimation", "head_pose", "landmark_106",
        "landmark_98_68", "portrait_matting", Unknown,
    };

    /// <summary>The tasks as a comma-separated list, for messages.</summary>
    public static string List => string.Join(", ", All);

    /// <summary>
    /// The vocabulary's spelling of <paramref name="task"/>, or null when it is not a task. Case, '_', '-' and spaces
    /// are ignored, so <c>FaceDetection</c> and <c>Face-Detection</c> are <c>face_detection</c>.
    /// </summary>
    public static string? Normalize(string? task)
    {
        if (task is null)
        {
            return null;
        }

        var key = Key(task);
        return key.Length == 0 ? null : All.FirstOrDefault(t => string.Equals(Key(t), key, StringComparison.Ordinal));
    }

    /// <summary>True when <paramref name="task"/> is a task exactly as the vocabulary spells it.</summary>
    public static bool IsKnown(string? task) => task is not null && All.Contains(task, StringComparer.Ordinal);

    private static string Key(string text)
    {
        var key = new StringBuilder(text.Length);
        foreach (var c in text.Trim())
        {
            if (c is '_' or '-' or ' ')
            {
                continue;
            }

            // Anything outside ASCII letters and digits ('/', '.', control characters) is never part of a task.
            if (!(c is >= 'a' and <= 'z' || c is >= 'A' and <= 'Z' || c is >= '0' and <= '9'))
            {
                return string.Empty;
            }

            key.Append(char.ToLowerInvariant(c));
        }

        return key.ToString();
    }
}
