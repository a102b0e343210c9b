using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading;

namespace ModelCache.Testing;

/// <summary>What an <see cref="NginxServer"/> serves and how.</summary>
public sealed class NginxServerOptions
{
    /// <param name="root">Directory served at <c>/</c> (static files, Range requests, ETag and Last-Modified).</param>
    public NginxServerOptions(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    /// <summary>
    /// Throttled locations: a path prefix such as <c>/slow/</c> mapped to an nginx <c>limit_rate</c> value
    /// (bytes per second per connection: <c>"2m"</c>, <c>"512k"</c>). Under a prefix only the last path segment
    /// counts: <c>/slow/&lt;any&gt;/&lt;dirs&gt;/model.onnx</c> serves <c>&lt;Root&gt;/model.onnx</c>, so a test can tag its
    /// requests (one tag per round, say) and tell them apart in the access log. The rate is smoothed
    /// (32 KiB writes), so bytes arrive steadily rather than in one burst per second.
    /// </summary>
    public IDictionary<string, string> ThrottledLocations { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public int WorkerProcesses { get; set; } = 1;

    /// <summary>How long to wait for nginx to bind its port.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>
/// Debian's nginx started unprivileged on 127.0.0.1 with a free port, its configuration, pid file,
/// logs and temp directories in a private temp directory (<c>nginx -p dir -c dir/nginx.conf</c>,
/// <c>daemon off</c>, so this object owns the master process). The access log records, per request,
/// the path, status, body bytes sent and the Range / If-Range headers, so tests can count full
/// transfers and resumptions. Dispose stops nginx (SIGTERM, then SIGKILL of the tree if it lingers)
/// and waits for it.
/// </summary>
public sealed class NginxServer : IDisposable
{
    /// <summary>Where Debian's nginx / nginx-light packages install the binary.</summary>
    public const string DefaultBinary = "/usr/sbin/nginx";

    private const int MaxStartAttempts = 5;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);

    private readonly TempDirectory _directory;
    private readonly Process _process;
    private readonly StringBuilder _stderr;

    private NginxServer(TempDirectory directory, Process process, StringBuilder stderr, int port)
    {
        _directory = directory;
        _process = process;
        _stderr = stderr;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
    }

    public int Port { get; }

    /// <summary><c>http://127.0.0.1:&lt;port&gt;/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The nginx prefix directory (configuration, pid, logs, temp files).</summary>
    public string Prefix => _directory.Path;

    public string ConfigPath => _directory.Combine("nginx.conf");

    public string AccessLogPath => _directory.Combine("logs", "access.log");

    public string ErrorLogPath => _directory.Combine("logs", "error.log");

    public int ProcessId => _process.Id;

    /// <summary>What nginx wrote to stderr (normally nothing: its error log is <see cref="ErrorLogPath"/>).</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The nginx binary: <c>$MODELCACHE_TEST_NGINX</c>, <see cref="DefaultBinary"/>, or <c>nginx</c> on PATH.</summary>
    public static string? FindBinary()
    {
        var configured = Environment.GetEnvironmentVariable("MODELCACHE_TEST_NGINX");
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : null;
        }

        if (File.Exists(DefaultBinary))
        {
            return DefaultBinary;
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "nginx"))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Starts nginx; throws with a clear message when it is not installed or does not start.</summary>
    public static NginxServer Start(NginxServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            throw new PlatformNotSupportedException("The nginx test fixture runs on Linux (and macOS) only.");
        }

        var binary = FindBinary() ?? throw new InvalidOperationException(
            $"nginx is not installed (looked for $MODELCACHE_TEST_NGINX, {DefaultBinary} and PATH). These tests need Debian's nginx: " +
            "'apt-get install nginx-light' (.ci/run installs it when missing).");
        if (!Directory.Exists(options.Root))
        {
            throw new DirectoryNotFoundException($"The directory to serve does not exist: {options.Root}");
        }

        var modules = DescribeBuild(binary);
        var directory = new TempDirectory("modelcache-nginx");
        try
        {
            Directory.CreateDirectory(directory.Combine("logs"));
            Directory.CreateDirectory(directory.Combine("temp"));
            var failures = new List<string>();
            for (var attempt = 1; attempt <= MaxStartAttempts; attempt++)
            {
                var port = FreeLoopbackPort();
                File.WriteAllText(directory.Combine("nginx.conf"), WriteConfig(options, directory, port, modules));
                var (process, stderr, failure) = TryStart(binary, directory, options.StartTimeout);
                if (process is not null)
                {
                    return new NginxServer(directory, process, stderr, port);
                }

                failures.Add($"attempt {attempt} on port {port}: {failure}");

                // Another process took the port between our probe and nginx's bind: pick another one.
                if (!failure!.Contains("Address already in use", StringComparison.Ordinal))
                {
                    break;
                }
            }

            throw new InvalidOperationException($"nginx ({binary}) did not start:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>The absolute URL of <paramref name="relative"/> (e.g. <c>"slow/round01/model.onnx"</c>).</summary>
    public Uri Url(string relative) => new(BaseAddress, relative.TrimStart('/'));

    /// <summary>Every complete line of the access log so far, in the order nginx finished the requests.</summary>
    public IReadOnlyList<NginxLogEntry> ReadAccessLog()
    {
        if (!File.Exists(AccessLogPath))
        {
            return Array.Empty<NginxLogEntry>();
        }

        string text;
        using (var stream = new FileStream(AccessLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            text = reader.ReadToEnd();
        }

        // nginx logs a request when it finishes (also when the client went away); a line still being
        // written has no newline yet and is left for the next read.
        var complete = text.LastIndexOf('\n');
        if (complete < 0)
        {
            return Array.Empty<NginxLogEntry>();
        }

        return text.Substring(0, complete)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(NginxLogEntry.Parse)
            .ToList();
    }

    /// <summary>Polls the access log until <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> otherwise.</summary>
    public IReadOnlyList<NginxLogEntry> WaitForAccessLog(Func<IReadOnlyList<NginxLogEntry>, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var entries = ReadAccessLog();
            if (condition(entries))
            {
                return entries;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"The nginx access log did not reach the expected state within {timeout.TotalSeconds:0} s. It holds:{Environment.NewLine}" +
                    string.Join(Environment.NewLine, entries));
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>The logged requests for <paramref name="fileName"/>, once at least <paramref name="atLeast"/> are in the log (10 s by default).</summary>
    public IReadOnlyList<NginxLogEntry> RequestsFor(string fileName, int atLeast = 1, TimeSpan? timeout = null) =>
        WaitForAccessLog(log => log.Count(e => e.FileName == fileName) >= atLeast, timeout ?? TimeSpan.FromSeconds(10)).Where(e => e.FileName == fileName).ToList();

    public string ReadErrorLog() => File.Exists(ErrorLogPath) ? File.ReadAllText(ErrorLogPath) : string.Empty;

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                // SIGTERM is nginx's fast shutdown: the master stops the workers (closing connections) and exits.
                _ = NativeMethods.Kill(_process.Id, NativeMethods.SigTerm);
                if (!_process.WaitForExit(StopTimeout))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(StopTimeout);
                }
            }

        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            _process.Dispose();
            _directory.Dispose();
        }
    }

    private static (Process? Process, StringBuilder Stderr, string? Failure) TryStart(string binary, TempDirectory directory, TimeSpan timeout)
    {
        var pidPath = directory.Combine("nginx.pid");
        File.Delete(pidPath);
        var info = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        info.ArgumentList.Add("-p");
        info.ArgumentList.Add(directory.Path + "/");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(directory.Combine("nginx.conf"));
        // Before the configuration is read nginx opens its compiled-in error log; point it here too.
        info.ArgumentList.Add("-e");
        info.ArgumentList.Add(directory.Combine("logs", "error.log"));

        var stderr = new StringBuilder();
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {binary}.");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        // nginx writes its pid file only after it has bound every listening socket (and gives up on a
        // port in use after about 2.5 s of retries), so the pid file means "ready to accept".
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                process.WaitForExit();
                var log = File.Exists(directory.Combine("logs", "error.log")) ? File.ReadAllText(directory.Combine("logs", "error.log")) : string.Empty;
                string text;
                lock (stderr)
                {
                    text = stderr.ToString();
                }

                var failure = $"exit code {process.ExitCode}: {text.Trim()} {log.Trim()}".Trim();
                process.Dispose();
                return (null, stderr, failure);
            }

            if (File.Exists(pidPath) && int.TryParse(SafeRead(pidPath).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) && pid == process.Id)
            {
                return (process, stderr, null);
            }

            Thread.Sleep(10);
        }

        process.Kill(entireProcessTree: true);
        process.WaitForExit(StopTimeout);
        process.Dispose();
        return (null, stderr, $"no pid file after {timeout.TotalSeconds:0} s");
    }

    private static string SafeRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>An OS-assigned free port on 127.0.0.1, released for nginx to bind (callers retry on a race).</summary>
    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary><c>nginx -V</c>: which optional HTTP modules (and so which temp-path directives) this build has.</summary>
    private static string DescribeBuild(string binary)
    {
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-V");
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {binary}.");
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
            throw new InvalidOperationException($"'{binary} -V' did not finish.");
        }

        return output + errors.Result;
    }

    private static string WriteConfig(NginxServerOptions options, TempDirectory directory, int port, string build)
    {
        static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

        var temp = directory.Combine("temp");
        var config = new StringBuilder();
        config.AppendLine("# Written by ModelCache.Testing.NginxServer.");
        config.AppendLine("daemon off;");
        config.AppendLine("master_process on;");
        config.AppendLine(CultureInfo.InvariantCulture, $"worker_processes {options.WorkerProcesses};");
        config.AppendLine(CultureInfo.InvariantCulture, $"pid {Quote(directory.Combine("nginx.pid"))};");
        config.AppendLine(CultureInfo.InvariantCulture, $"error_log {Quote(directory.Combine("logs", "error.log"))} warn;");
        if (NativeMethods.GetEffectiveUserId() == 0)
        {
            // As root, workers would switch to 'nobody', which may not read a test's temp files.
            config.AppendLine("user root;");
        }

        config.AppendLine("events { worker_connections 1024; }");
        config.AppendLine("http {");
        config.AppendLine("    default_type application/octet-stream;");
        config.AppendLine("    sendfile on;");
        config.AppendLine("    tcp_nopush on;");
        config.AppendLine("    keepalive_timeout 30s;");
        config.AppendLine("    keepalive_requests 10000;");
        config.AppendLine("    server_tokens off;");
        config.AppendLine("    log_format modelcache escape=json '{\"time\":\"$msec\",\"method\":\"$request_method\",\"uri\":\"$uri\",\"status\":\"$status\",'");
        config.AppendLine("        '\"bytes\":\"$body_bytes_sent\",\"range\":\"$http_range\",\"ifRange\":\"$http_if_range\",'");
        config.AppendLine("        '\"contentRange\":\"$sent_http_content_range\",\"connection\":\"$connection\",\"requestTime\":\"$request_time\"}';");
        config.AppendLine(CultureInfo.InvariantCulture, $"    access_log {Quote(directory.Combine("logs", "access.log"))} modelcache;");

        // Every temp path of a compiled-in module must be writable, or nginx fails creating /var/lib/nginx/*.
        config.AppendLine(CultureInfo.InvariantCulture, $"    client_body_temp_path {Quote(Path.Combine(temp, "client_body"))};");
        foreach (var module in new[] { "proxy", "fastcgi", "uwsgi", "scgi" })
        {
            if (!build.Contains($"--without-http_{module}_module", StringComparison.Ordinal))
            {
                config.AppendLine(CultureInfo.InvariantCulture, $"    {module}_temp_path {Quote(Path.Combine(temp, module))};");
            }
        }

        config.AppendLine("    server {");
        config.AppendLine(CultureInfo.InvariantCulture, $"        listen 127.0.0.1:{port};");
        config.AppendLine("        server_name localhost;");
        config.AppendLine(CultureInfo.InvariantCulture, $"        root {Quote(options.Root)};");
        config.AppendLine("        location / { }");
        foreach (var (prefix, rate) in options.ThrottledLocations)
        {
            var trimmed = "/" + prefix.Trim('/');
            if (trimmed == "/" || !trimmed.Skip(1).All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/'))
            {
                throw new ArgumentException($"Throttled location '{prefix}' must be a path prefix of letters, digits, '-', '_' and '/'.", nameof(options));
            }

            if (!rate.All(c => char.IsAsciiDigit(c) || c is 'k' or 'K' or 'm' or 'M'))
            {
                throw new ArgumentException($"limit_rate '{rate}' must look like 2m or 512k.", nameof(options));
            }

            config.AppendLine(CultureInfo.InvariantCulture, $"        location ~ ^{trimmed}/(?:[^/]+/)*(?<file>[^/]+)$ {{");
            config.AppendLine(CultureInfo.InvariantCulture, $"            alias {Quote(options.Root + "/$file")};");
            config.AppendLine(CultureInfo.InvariantCulture, $"            limit_rate {rate};");

            // nginx sends up to a second's worth (capped by this) per write, then sleeps: small chunks
            // make the rate smooth instead of a burst per second.
            config.AppendLine("            sendfile_max_chunk 32k;");
            config.AppendLine("        }");
        }

        config.AppendLine("    }");
        config.AppendLine("}");
        return config.ToString();
    }

    private static class NativeMethods
    {
        public const int SigTerm = 15;

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Kill(int pid, int signal);

        [DllImport("libc", EntryPoint = "geteuid")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern uint GetEffectiveUserId();
    }
}

/// <summary>One line of the fixture's access log: a request nginx finished (completely or not).</summary>
public sealed class NginxLogEntry
{
    private NginxLogEntry(string raw, double time, string method, string uri, int status, long bytesSent, string? range, string? ifRange, string? contentRange, long connection)
    {
        Raw = raw;
        Time = DateTimeOffset.FromUnixTimeMilliseconds((long)(time * 1000));
        Method = method;
        Uri = uri;
        Status = status;
        BytesSent = bytesSent;
        Range = range;
        IfRange = ifRange;
        ContentRange = contentRange;
        Connection = connection;
    }

    public string Raw { get; }

    /// <summary>When nginx finished the request.</summary>
    public DateTimeOffset Time { get; }

    public string Method { get; }

    /// <summary>The normalised request path, e.g. <c>/slow/round03/model.onnx</c>.</summary>
    public string Uri { get; }

    /// <summary>Last path segment of <see cref="Uri"/>.</summary>
    public string FileName => Uri.Substring(Uri.LastIndexOf('/') + 1);

    public int Status { get; }

    /// <summary>Body bytes sent; less than the file when the client went away mid-transfer.</summary>
    public long BytesSent { get; }

    /// <summary>The request's Range header, or null.</summary>
    public string? Range { get; }

    public string? IfRange { get; }

    /// <summary>The response's Content-Range header, or null.</summary>
    public string? ContentRange { get; }

    /// <summary>nginx's connection serial number.</summary>
    public long Connection { get; }

    public bool IsRangeRequest => Range is not null;

    /// <summary>A 200 that sent the whole file of <paramref name="size"/> bytes.</summary>
    public bool IsFullTransfer(long size) => Status == 200 && BytesSent == size;

    public static NginxLogEntry Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        string? Text(string name) => root.GetProperty(name).GetString() is { Length: > 0 } value && value != "-" ? value : null;
        long Number(string name) => long.Parse(Text(name) ?? "0", NumberStyles.Integer, CultureInfo.InvariantCulture);

        return new NginxLogEntry(line,
            double.Parse(Text("time") ?? "0", NumberStyles.Float, CultureInfo.InvariantCulture),
            Text("method") ?? string.Empty,
            Text("uri") ?? string.Empty,
            (int)Number("status"),
            Number("bytes"),
            Text("range"),
            Text("ifRange"),
            Text("contentRange"),
            Number("connection"));
    }

    public override string ToString() => $"{Method} {Uri} {Status} {BytesSent}B range={Range ?? "-"} if-range={IfRange ?? "-"} content-range={ContentRange ?? "-"} conn={Connection}";
}
