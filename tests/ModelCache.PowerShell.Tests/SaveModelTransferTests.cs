using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>Save-Model's transfer behaviour as a user sees it: results, errors, progress, Ctrl+C.</summary>
public sealed class SaveModelTransferTests : IAsyncLifetime
{
    private readonly PowerShellSession _ps = new();
    private FaultServer _server = null!;

    public async Task InitializeAsync() => _server = await FaultServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _ps.Dispose();
    }

    [Fact]
    public void Results_come_in_input_order_even_when_a_later_model_finishes_first()
    {
        // The first model trickles for about a second; the others arrive at once and finish long before it.
        var catalog = WriteCatalog(4, plans: i => i == 0 ? new FaultPlan { BytesPerSecond = 300_000 } : i == 2 ? new FaultPlan { FailTimes = 100, FailStatus = 404 } : null);

        var result = _ps.Run($"Save-Model Test/M0, Test/M1, Test/M2, Test/M3 -CatalogPath '{catalog}' -ThrottleLimit 4 -RetryCount 0");

        Assert.Equal(new[] { "Test/M0", "Test/M1", "Test/M3" }, result.Output.Select(o => (string)o.Properties["Name"].Value));
        Assert.Equal("Test/M2", Assert.Single(result.Errors).TargetObject);
    }

    [Fact]
    public void A_batch_saves_in_parallel_and_each_result_says_where_its_bytes_came_from()
    {
        var catalog = WriteCatalog(4, plan: new FaultPlan { BytesPerSecond = 1_500_000 });
        _ps.Run($"Save-Model Test/M0 -CatalogPath '{catalog}'").ThrowIfErrors();

        var result = _ps.Run($"Save-Model Test/M0, Test/M1, Test/M2, Test/M3 -CatalogPath '{catalog}' -ThrottleLimit 3").ThrowIfErrors();

        Assert.Equal(4, result.Output.Count);
        var byName = result.Output.ToDictionary(o => (string)o.Properties["Name"].Value);
        Assert.Equal("Cache", byName["Test/M0"].Properties["Source"].Value.ToString());
        foreach (var name in new[] { "Test/M1", "Test/M2", "Test/M3" })
        {
            var transfer = (PSObject)PSObject.AsPSObject(byName[name].Properties["Transfer"].Value);
            Assert.Equal("Upstream", transfer.Properties["Source"].Value.ToString());
            Assert.Equal(300_000L, transfer.Properties["BytesTransferred"].Value);
            Assert.False((bool)transfer.Properties["Resumed"].Value);
            Assert.True((TimeSpan)transfer.Properties["Elapsed"].Value > TimeSpan.Zero);
            Assert.Contains("127.0.0.1", (string)transfer.Properties["SourceUrl"].Value);
        }

        Assert.InRange(_server.MaxConcurrentRequests, 2, 3);
    }

    [Fact]
    public void A_resumed_download_is_reported_as_resumed()
    {
        var catalog = WriteCatalog(1, plan: new FaultPlan { DropAfterBytes = 100_000 });

        var result = _ps.Run($"Save-Model Test/M0 -CatalogPath '{catalog}' -RetryCount 2").ThrowIfErrors();

        var transfer = PSObject.AsPSObject(result.Output.Single().Properties["Transfer"].Value);
        Assert.True((bool)transfer.Properties["Resumed"].Value);
        Assert.Contains(result.Warnings, w => w.Contains("Retrying"));
    }

    [Fact]
    public void One_bad_model_is_an_error_record_with_id_category_target_url_and_fix_and_the_batch_goes_on()
    {
        var catalog = WriteCatalog(2, plans: i => i == 1 ? new FaultPlan { Html = true } : null);

        var result = _ps.Run($"Save-Model Test/M0, m1 -CatalogPath '{catalog}'");

        Assert.Equal("Test/M0", result.Output.Single().Properties["Name"].Value);
        var error = result.Errors.Single();
        Assert.Equal("UnexpectedContent,ModelCache.PowerShell.Cmdlets.SaveModelCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Equal("m1", error.TargetObject);
        Assert.Contains(new Uri(_server.BaseAddress, "m1.onnx").ToString(), error.Exception.Message);
        Assert.False(string.IsNullOrEmpty(error.ErrorDetails.RecommendedAction));
        Assert.False(File.Exists(Path.Combine(_ps.CacheRoot, "models", "Test", "M1", "m1.onnx")));
        Assert.False(File.Exists(Path.Combine(_ps.CacheRoot, "models", "Test", "M1", "m1.onnx.partial")));
    }

    [Fact]
    public void Mirror_credentials_never_appear_in_errors_or_verbose_output()
    {
        var catalog = WriteCatalog(1);
        var mirror = new UriBuilder(_server.BaseAddress) { UserName = "user", Password = "hunter2", Path = "private/" }.Uri;

        var result = _ps.Run($"$env:MODELCACHE_TOKEN = 'tok-123'; Save-Model Test/M0 -CatalogPath '{catalog}' -Mirror '{mirror}' -MirrorOnly -Verbose *>&1 | ForEach-Object {{ \"$_\" }}; $env:MODELCACHE_TOKEN = $null");

        var text = string.Join("\n", result.Output.Select(o => o.ToString()).Concat(result.Errors.Select(e => e.ToString())));
        Assert.Contains("HTTP 404", text);
        Assert.Contains(new Uri(_server.BaseAddress, "private/m0.onnx").ToString(), text);
        Assert.DoesNotContain("hunter2", text);
        Assert.DoesNotContain("tok-123", text);
        Assert.Equal("Bearer tok-123", _server.RequestsFor("private/m0.onnx").Single().Authorization);
    }

    [Fact]
    public void Explicit_proxy_carries_upstream_requests_and_credential_goes_to_the_mirror_only()
    {
        var bytes = Model(7, 100_000);
        _server.Serve("weights/m7.onnx", bytes);
        _server.Serve("private/m7.onnx", bytes, new FaultPlan { FailTimes = 100, FailStatus = 404 });
        var sha = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
        var catalog = _ps.Temp.Combine("proxy-catalog.json");
        File.WriteAllText(catalog, $$"""{ "models": [ { "family": "Test", "member": "M7", "fileName": "m7.onnx", "url": "http://models.example.invalid/weights/m7.onnx", "sha256": "{{sha}}", "size": 100000 } ] }""");

        var result = _ps.Run($$"""
            $password = [securestring]::new(); 'pa55'.ToCharArray() | ForEach-Object { $password.AppendChar($_) }
            $credential = [pscredential]::new('svc', $password)
            Save-Model Test/M7 -CatalogPath '{{catalog}}' -Mirror '{{_server.BaseAddress}}private' -Credential $credential -Proxy '{{_server.BaseAddress}}' -WarningAction SilentlyContinue
            """).ThrowIfErrors();

        Assert.Equal("Upstream", result.Output.Single().Properties["Source"].Value.ToString());
        Assert.Equal("models.example.invalid", _server.RequestsFor("weights/m7.onnx").Single().Host);
        Assert.Equal(string.Empty, _server.RequestsFor("weights/m7.onnx").Single().Authorization);
        Assert.StartsWith("Basic ", _server.RequestsFor("private/m7.onnx").Single().Authorization);
    }

    [Fact]
    public void Progress_has_a_batch_bar_and_a_bar_per_model()
    {
        // About a second per model, so several 200 ms progress updates fall inside a transfer even on a busy machine.
        var catalog = WriteCatalog(2, plan: new FaultPlan { BytesPerSecond = 300_000 });
        using var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = Runspace;
        shell.AddScript($"Save-Model Test/M0, Test/M1 -CatalogPath '{catalog}'");

        shell.Invoke();

        Assert.False(shell.HadErrors);
        var records = shell.Streams.Progress.ToList();
        var parent = records.Where(r => r.ParentActivityId == -1 && r.Activity == "Saving models").ToList();
        Assert.NotEmpty(parent);
        Assert.Equal(ProgressRecordType.Completed, parent.Last().RecordType);
        var children = records.Where(r => r.ParentActivityId == parent[0].ActivityId).ToList();
        Assert.Equal(2, children.Select(r => r.ActivityId).Distinct().Count());
        Assert.Contains(children, r => r.StatusDescription.Contains("/s") && r.PercentComplete is > 0 and < 100);
        Assert.All(children.GroupBy(r => r.ActivityId), g => Assert.Equal(ProgressRecordType.Completed, g.Last().RecordType));
    }

    [Fact]
    public async Task Stopping_the_pipeline_cancels_promptly_and_keeps_a_resumable_partial()
    {
        var catalog = WriteCatalog(1, size: 3_000_000, plan: new FaultPlan { BytesPerSecond = 500_000 });
        var partial = Path.Combine(_ps.CacheRoot, "models", "Test", "M0", "m0.onnx.partial");
        using var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = Runspace;
        shell.AddScript($"Save-Model Test/M0 -CatalogPath '{catalog}'");
        var running = shell.BeginInvoke();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (!(File.Exists(partial) && new FileInfo(partial).Length > 200_000))
            {
                await Task.Delay(50, deadline.Token);
            }
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Factory.FromAsync(shell.BeginStop(null, null), shell.EndStop);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {clock.Elapsed}");
        Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
        Assert.True(running.IsCompleted);
        Assert.True(File.Exists(partial));
        Assert.False(File.Exists(partial[..^".partial".Length]));

        _server.Serve("m0.onnx", Model(0, 3_000_000));
        var resumed = _ps.Run($"Save-Model Test/M0 -CatalogPath '{catalog}'").ThrowIfErrors();
        Assert.True((bool)PSObject.AsPSObject(resumed.Output.Single().Properties["Transfer"].Value).Properties["Resumed"].Value);
    }

    private System.Management.Automation.Runspaces.Runspace Runspace =>
        (System.Management.Automation.Runspaces.Runspace)_ps.Run("[runspace]::DefaultRunspace").Output.Single().BaseObject;

    private static byte[] Model(int index, int size)
    {
        var bytes = new byte[size];
        new Random(1000 + index).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Serves <paramref name="count"/> generated models and writes a user catalog for them (Test/M0 …, files m0.onnx …).</summary>
    private string WriteCatalog(int count, int size = 300_000, FaultPlan? plan = null, Func<int, FaultPlan?>? plans = null)
    {
        var entries = Enumerable.Range(0, count).Select(i =>
        {
            var bytes = Model(i, size);
            var url = _server.Serve($"m{i}.onnx", bytes, plans?.Invoke(i) ?? plan);
            var sha = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
            return $$"""{ "family": "Test", "member": "M{{i}}", "task": "face_detection", "fileName": "m{{i}}.onnx", "url": "{{url}}", "sha256": "{{sha}}", "size": {{size}} }""";
        });
        var path = _ps.Temp.Combine("catalog.json");
        File.WriteAllText(path, "{ \"models\": [" + string.Join(",", entries) + "] }");
        return path;
    }
}
