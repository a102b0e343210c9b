using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using ModelCache.Errors;
using ModelCache.Inference;

// Usage: ModelCache.ImageProbe <model.onnx> <image> [tensor memory limit in MiB]
// Prints "ok <faces>" or "error <ErrorId>", then "peak <bytes>" (VmHWM on Linux, else the peak working set).
if (args.Length > 2)
{
    ModelAdmission.TensorMemoryLimit = long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) * 1024 * 1024;
}

try
{
    using var detector = new FaceDetector(args[0]);
    Console.WriteLine("ok " + detector.Detect(args[1]).FaceCount);
}
catch (ModelCacheException ex)
{
    Console.WriteLine("error " + ex.ErrorId);
    Console.Error.WriteLine(ex.Message);
}

Console.WriteLine("peak " + PeakBytes());

static long PeakBytes()
{
    const string status = "/proc/self/status";
    if (File.Exists(status))
    {
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        if (line is not null)
        {
            return long.Parse(line.Substring(6).Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
    }

    return Process.GetCurrentProcess().PeakWorkingSet64;
}
