using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Reflection;
using System.Threading.Tasks;
using System.Xml.Linq;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>The cache cmdlets as a user drives them: imported from ModelCache.psd1, in pipelines.</summary>
public sealed class CacheCmdletTests : IDisposable
{
    private const string Yolo = "YOLOv8Face/YOLOV8_LITE_T";
    private const string YoloSha = "caa9eb121eee8fbf25a5985d3cee4e314df5a08feb4bb8c224fecdeb4afd9b86";
    private readonly PowerShellSession _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void The_manifest_exports_exactly_the_cmdlet_classes_of_the_assembly()
    {
        var exported = _ps.Run("(Get-Command -Module ModelCache).Name").ThrowIfErrors().Output.Select(o => o.ToString()).OrderBy(n => n).ToList();
        var assembly = (Assembly)_ps.Run("(Get-Module ModelCache).ImplementingAssembly").Output[0].BaseObject;
        var declared = assembly.GetTypes()
            .Select(t => t.GetCustomAttribute<CmdletAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.VerbName + "-" + a.NounName)
            .OrderBy(n => n)
            .ToList();
        var manifestAst = Parser.ParseFile(TestPaths.Manifest, out _, out var parseErrors);
        Assert.Empty(parseErrors);
        var manifest = ((Hashtable)((HashtableAst)manifestAst.Find(a => a is HashtableAst, false)!).SafeGetValue())["CmdletsToExport"];

        Assert.Equal(declared, exported);
        Assert.Equal(declared, ((object[])manifest!).Select(o => o.ToString()).OrderBy(n => n));
        Assert.Contains("Save-Model", exported);
        Assert.Contains("Test-ModelHash", exported);
    }

    [Fact]
    public void Every_cmdlet_uses_an_approved_verb_and_declares_its_output()
    {
        var approved = new[] { typeof(VerbsCommon), typeof(VerbsData), typeof(VerbsDiagnostic), typeof(VerbsLifecycle), typeof(VerbsCommunications), typeof(VerbsSecurity), typeof(VerbsOther) }
            .SelectMany(t => t.GetFields()).Select(f => (string)f.GetValue(null)!).ToHashSet();
        var verbs = _ps.Run("Get-Command -Module ModelCache | ForEach-Object Verb").ThrowIfErrors().Output.Select(o => o.ToString()).ToList();
        Assert.NotEmpty(verbs);
        Assert.All(verbs, verb => Assert.Contains(verb, approved));
        var withoutOutput = _ps.Run("Get-Command -Module ModelCache | Where-Object { $_.OutputType.Count -eq 0 } | ForEach-Object Name").ThrowIfErrors();
        Assert.Empty(withoutOutput.Output);
    }

    [Fact]
    public void Save_model_from_the_fixtures_mirror_pipes_into_test_model_hash_as_valid()
    {
        var result = _ps.Run($"$env:MODELCACHE_MIRROR = '{TestPaths.FixtureModels}'; Save-Model YOLOV8_LITE_T | Test-ModelHash").ThrowIfErrors();

        var check = Assert.Single(result.Output);
        Assert.Equal("Valid", check.Properties["Status"].Value.ToString());
        Assert.Equal(Yolo, check.Properties["Name"].Value);
        Assert.Equal(YoloSha, check.Properties["Actual"].Value);
        Assert.StartsWith(_ps.CacheRoot, (string)check.Properties["Path"].Value);
    }

    [Fact]
    public void Save_model_reports_where_the_bytes_came_from()
    {
        var first = _ps.Run($"Save-Model {Yolo} -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors();
        var second = _ps.Run($"Save-Model {Yolo} -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors();

        Assert.Equal("Mirror", Assert.Single(first.Output).Properties["Source"].Value.ToString());
        Assert.Equal("Cache", Assert.Single(second.Output).Properties["Source"].Value.ToString());
        Assert.True((bool)second.Output[0].Properties["Verified"].Value);
    }

    [Fact]
    public void Get_model_cache_shows_the_saved_model_and_clear_honours_whatif_and_confirm()
    {
        _ps.Run($"Save-Model {Yolo}, UltraFace/RFB_320 -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors();

        var listed = _ps.Run("Get-ModelCache").ThrowIfErrors().Output;
        Assert.Equal(new[] { "UltraFace/RFB_320", Yolo }, listed.Select(e => e.Properties["Name"].Value.ToString()).OrderBy(n => n));
        var yolo = listed.Single(e => (string)e.Properties["Name"].Value == Yolo);
        Assert.Equal("face_detection", yolo.Properties["Task"].Value);
        Assert.Equal(2424912L, yolo.Properties["Size"].Value);
        Assert.True((bool)yolo.Properties["Verified"].Value);
        Assert.NotNull(yolo.Properties["SavedAt"].Value);
        Assert.NotNull(yolo.Properties["LastUsed"].Value);

        _ps.Run("Get-ModelCache | Clear-ModelCache -WhatIf").ThrowIfErrors();
        Assert.Equal(2, _ps.Run("Get-ModelCache").Output.Count);

        var removed = _ps.Run($"Get-ModelCache {Yolo} | Clear-ModelCache -Confirm:$false -PassThru").ThrowIfErrors();
        Assert.Equal(Yolo, Assert.Single(removed.Output).Properties["Name"].Value);
        Assert.Equal("UltraFace/RFB_320", Assert.Single(_ps.Run("Get-ModelCache").Output).Properties["Name"].Value);
        Assert.False(File.Exists((string)yolo.Properties["Path"].Value));
    }

    [Fact]
    public void Clear_all_removes_everything_and_whatif_removes_nothing()
    {
        _ps.Run($"Save-Model {Yolo}, UltraFace/SLIM_320 -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors();

        _ps.Run("Clear-ModelCache -All -WhatIf").ThrowIfErrors();
        Assert.Equal(2, _ps.Run("Get-ModelCache").Output.Count);

        _ps.Run("Clear-ModelCache -All -Confirm:$false").ThrowIfErrors();
        Assert.Empty(_ps.Run("Get-ModelCache").ThrowIfErrors().Output);
    }

    [Fact]
    public void Clear_by_name_accepts_bare_names_and_wildcards()
    {
        _ps.Run($"Save-Model {Yolo}, UltraFace/RFB_320, UltraFace/SLIM_320 -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors();

        _ps.Run("Clear-ModelCache 'UltraFace/*' -Confirm:$false").ThrowIfErrors();
        Assert.Equal(Yolo, Assert.Single(_ps.Run("Get-ModelCache").Output).Properties["Name"].Value);

        _ps.Run("Clear-ModelCache yolov8_lite_t -Confirm:$false").ThrowIfErrors();
        Assert.Empty(_ps.Run("Get-ModelCache").Output);
    }

    [Fact]
    public void Clearing_a_model_that_is_not_cached_is_a_non_terminating_error()
    {
        var result = _ps.Run("Clear-ModelCache MNET_V2 -Confirm:$false; 'after'");
        Assert.Equal(new[] { "ModelNotCached,ModelCache.PowerShell.Cmdlets.ClearModelCacheCommand" }, result.ErrorIds);
        Assert.Equal("after", Assert.Single(result.Output).ToString());
    }

    [Fact]
    public void Test_model_hash_reports_mismatch_as_an_error_record_and_sets_question_mark()
    {
        _ps.Run($"Save-Model {Yolo} -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors();
        var path = (string)_ps.Run($"(Get-ModelCache {Yolo}).Path").Output[0].BaseObject;
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });

        var result = _ps.Run("$r = Test-ModelHash; $ok = $?; $r; $ok");

        Assert.Equal("Mismatch", result.Output[0].Properties["Status"].Value.ToString());
        Assert.False((bool)result.Output[1].BaseObject);
        var error = Assert.Single(result.Errors);
        Assert.Equal("HashMismatch,ModelCache.PowerShell.Cmdlets.TestModelHashCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Contains("Save-Model", error.ErrorDetails.RecommendedAction);
        Assert.False(_ps.Run($"(Get-ModelCache {Yolo}).Verified").Output[0].BaseObject as bool? ?? true);
    }

    [Fact]
    public async Task Test_model_hash_erroraction_stop_terminates_a_scheduled_job()
    {
        // A provisioning job as an administrator schedules it: a script file run by real pwsh with -File,
        // on an air-gapped machine (-Offline). NormalView makes pwsh's error display name the error id.
        var script = _ps.Temp.Combine("provision.ps1");
        File.WriteAllText(script, $$"""
            $global:ErrorView = 'NormalView'
            $ErrorActionPreference = 'Stop'
            Import-Module '{{TestPaths.Manifest}}'
            Save-Model {{Yolo}} -Offline | Test-ModelHash | ForEach-Object { 'STATUS ' + $_.Status }
            'JOB DONE'
            """);
        var environment = new System.Collections.Generic.Dictionary<string, string?>
        {
            ["MODELCACHE_HOME"] = _ps.CacheRoot,
            ["XDG_CONFIG_HOME"] = _ps.Temp.Combine("config"),
        };
        var modelPath = (string)Assert.Single(_ps.Run($"Save-Model {Yolo} -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors().Output).Properties["Path"].Value;

        using (var valid = PwshProcess.StartScript(script, Array.Empty<string>(), environment, _ps.Temp.Path))
        {
            var result = await valid.WaitForExitAsync(TimeSpan.FromMinutes(2));
            Assert.True(result.Succeeded, result.ToString());
            Assert.Equal(new[] { "STATUS Valid", "JOB DONE" }, result.OutputLines.Where(l => l.Length > 0));
        }

        // Damage the cached file in place (same size): offline, Save-Model cannot fetch it again, so the
        // pipeline fails and -ErrorAction Stop (the preference) ends the job before its next statement.
        using (var file = File.Open(modelPath, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 1000;
            var original = file.ReadByte();
            file.Position = 1000;
            file.WriteByte((byte)(original ^ 0xFF));
        }

        using var tampered = PwshProcess.StartScript(script, Array.Empty<string>(), environment, _ps.Temp.Path);
        var failed = await tampered.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.False(failed.Killed, failed.ToString());
        Assert.NotEqual(0, failed.ExitCode);
        Assert.DoesNotContain("JOB DONE", failed.OutputLines);
        Assert.DoesNotContain(failed.OutputLines, l => l.StartsWith("STATUS ", StringComparison.Ordinal));
        Assert.Equal(new[] { "ModelNotAvailableOffline,ModelCache.PowerShell.Cmdlets.SaveModelCommand" }, failed.ErrorIds);
    }

    [Fact]
    public void Test_model_hash_quiet_returns_a_single_bool()
    {
        _ps.Run($"Save-Model {Yolo} -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors();

        Assert.True((bool)Assert.Single(_ps.Run("Test-ModelHash -Quiet").ThrowIfErrors().Output).BaseObject);
        var missing = _ps.Run($"Test-ModelHash {Yolo}, MNET_V2 -Quiet");
        Assert.False((bool)Assert.Single(missing.Output).BaseObject);
        Assert.Empty(missing.Errors);
    }

    [Fact]
    public void Test_model_hash_checks_files_by_literal_path_and_fileinfo()
    {
        var fixture = Path.Combine(TestPaths.FixtureModels, "yolov8-lite-t-face.onnx");

        var byCatalogFileName = _ps.Run($"[System.IO.FileInfo]::new('{fixture}') | Test-ModelHash").ThrowIfErrors();
        Assert.Equal("Valid", Assert.Single(byCatalogFileName.Output).Properties["Status"].Value.ToString());
        Assert.Equal(Yolo, byCatalogFileName.Output[0].Properties["Name"].Value);

        var explicitHash = _ps.Run($"Test-ModelHash -LiteralPath '{fixture}' -Sha256 {new string('0', 64)}");
        Assert.Equal("Mismatch", Assert.Single(explicitHash.Output).Properties["Status"].Value.ToString());
        Assert.Equal(new[] { "HashMismatch,ModelCache.PowerShell.Cmdlets.TestModelHashCommand" }, explicitHash.ErrorIds);

        var unknownFile = _ps.Temp.Combine("unknown.bin");
        File.WriteAllText(unknownFile, "hello");
        var unknown = _ps.Run($"Test-ModelHash -LiteralPath '{unknownFile}'");
        Assert.Equal("Unknown", Assert.Single(unknown.Output).Properties["Status"].Value.ToString());
        Assert.Equal(new[] { "ExpectedHashUnknown,ModelCache.PowerShell.Cmdlets.TestModelHashCommand" }, unknown.ErrorIds);
    }

    [Fact]
    public void Offline_a_missing_model_is_an_error_naming_model_path_and_remedy()
    {
        var result = _ps.Run("$env:MODELCACHE_OFFLINE = '1'; Save-Model MNET_V2");

        var error = Assert.Single(result.Errors);
        Assert.Equal("ModelNotAvailableOffline,ModelCache.PowerShell.Cmdlets.SaveModelCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceUnavailable, error.CategoryInfo.Category);
        Assert.Contains("RetinaFace/MNET_V2", error.Exception.Message);
        Assert.Contains(Path.Combine(_ps.CacheRoot, "models"), error.Exception.Message);
        Assert.Contains("Save-Model RetinaFace/MNET_V2", error.ErrorDetails.RecommendedAction);
        Assert.Equal("MNET_V2", error.TargetObject);
    }

    [Fact]
    public async Task Save_model_downloads_from_a_loopback_mirror_and_reports_404_per_model()
    {
        await using var server = await FaultServer.StartAsync();
        server.Serve("mirror/yolov8-lite-t-face.onnx", File.ReadAllBytes(Path.Combine(TestPaths.FixtureModels, "yolov8-lite-t-face.onnx")));

        var result = _ps.Run($"Save-Model {Yolo}, UltraFace/RFB_320 -Mirror '{server.BaseAddress}mirror' -MirrorOnly");

        Assert.Equal(Yolo, Assert.Single(result.Output).Properties["Name"].Value);
        Assert.Equal(new[] { "SourceFileNotFound,ModelCache.PowerShell.Cmdlets.SaveModelCommand" }, result.ErrorIds);
        Assert.Equal(1, server.RequestCount("mirror/yolov8-lite-t-face.onnx"));
        Assert.Equal(1, server.RequestCount("mirror/version-RFB-320.onnx"));
    }

    [Fact]
    public void Unknown_and_ambiguous_names_are_errors_with_candidates()
    {
        var result = _ps.Run("Save-Model MNET_V3, DEFAULT -Offline");

        Assert.Equal(new[]
        {
            "ModelNotFound,ModelCache.PowerShell.Cmdlets.SaveModelCommand",
            "AmbiguousModelName,ModelCache.PowerShell.Cmdlets.SaveModelCommand",
        }, result.ErrorIds);
        Assert.Contains("RetinaFace/MNET_V2", result.Errors[0].ErrorDetails.RecommendedAction);
        Assert.Contains("AgeGender/DEFAULT", result.Errors[1].Exception.Message);
    }

    [Fact]
    public void A_malformed_catalog_is_a_terminating_error_naming_file_and_line()
    {
        var catalog = _ps.Temp.Combine("bad.json");
        File.WriteAllText(catalog, "{\n  \"models\": [\n    { \"family\": \n");

        var result = _ps.Run($"Get-ModelCatalog -CatalogPath '{catalog}'; 'next statement'");

        Assert.Equal(new[] { "CatalogInvalid,ModelCache.PowerShell.Cmdlets.GetModelCatalogCommand" }, result.ErrorIds);
        Assert.Contains(catalog, result.Errors[0].Exception.Message);
        Assert.Contains("line 4", result.Errors[0].Exception.Message);
        Assert.Equal(ErrorCategory.InvalidData, result.Errors[0].CategoryInfo.Category);
        Assert.Equal("next statement", Assert.Single(result.Output).ToString());
    }

    [Fact]
    public void A_user_catalog_from_the_environment_adds_models_that_save_and_verify()
    {
        var catalog = _ps.Temp.Combine("mine.json");
        File.WriteAllText(catalog, $$"""
            { "models": [ { "family": "Mine", "member": "SCRFD_SMALL", "task": "face_detection", "fileName": "scrfd_500m_kps.onnx",
                            "url": "https://example.invalid/never-used.onnx",
                            "sha256": "517cb1980c72422e676738fc45431700fb7cbee56d0f825b623ee427b3e5ce58" } ] }
            """);

        var result = _ps.Run($"$env:MODELCACHE_CATALOG = '{catalog}'; Save-Model Mine/SCRFD_SMALL -Mirror '{TestPaths.FixtureModels}' -MirrorOnly | Test-ModelHash").ThrowIfErrors();

        Assert.Equal("Valid", Assert.Single(result.Output).Properties["Status"].Value.ToString());
        Assert.Equal("Mine/SCRFD_SMALL", result.Output[0].Properties["Name"].Value);
    }

    [Fact]
    public void Get_model_catalog_filters_and_reports_what_is_cached()
    {
        _ps.Run($"Save-Model {Yolo} -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors();

        var all = _ps.Run("Get-ModelCatalog").ThrowIfErrors().Output;
        Assert.Equal(65, all.Count);
        var detectors = _ps.Run("Get-ModelCatalog -Task face_detection -Family YOLO*").ThrowIfErrors().Output;
        Assert.All(detectors, d => Assert.StartsWith("YOLO", (string)d.Properties["Family"].Value));
        Assert.Equal(7, detectors.Count);
        var cached = _ps.Run("Get-ModelCatalog | Where-Object IsCached").ThrowIfErrors().Output;
        Assert.Equal(Yolo, Assert.Single(cached).Properties["Name"].Value);
        var named = _ps.Run("Get-ModelCatalog MNET_V2").ThrowIfErrors().Output;
        Assert.Equal("RetinaFace/MNET_V2", Assert.Single(named).Properties["Name"].Value);
    }

    [Fact]
    public void Catalog_entries_pipe_into_save_model_by_property_name()
    {
        var result = _ps.Run($"Get-ModelCatalog -Family UltraFace | Save-Model -Mirror '{TestPaths.FixtureModels}' | Test-ModelHash").ThrowIfErrors();
        Assert.Equal(2, result.Output.Count);
        Assert.All(result.Output, r => Assert.Equal("Valid", r.Properties["Status"].Value.ToString()));
    }

    [Fact]
    public void Cache_location_follows_the_precedence_and_path_parameter_wins()
    {
        var fromEnvironment = Assert.Single(_ps.Run("Get-ModelCacheLocation").ThrowIfErrors().Output);
        Assert.Equal("EnvironmentVariable", fromEnvironment.Properties["Source"].Value.ToString());
        Assert.Equal(_ps.CacheRoot, fromEnvironment.Properties["Path"].Value);

        var processRoot = _ps.Temp.Combine("process-root");
        var set = _ps.Run($"Set-ModelCacheLocation '{processRoot}' -PassThru").ThrowIfErrors();
        Assert.Equal("ProcessSetting", Assert.Single(set.Output).Properties["Source"].Value.ToString());

        var explicitRoot = _ps.Temp.Combine("explicit");
        var explicitLocation = _ps.Run($"Get-ModelCacheLocation -Path '{explicitRoot}'").ThrowIfErrors().Output[0];
        Assert.Equal("Parameter", explicitLocation.Properties["Source"].Value.ToString());

        _ps.Run($"Save-Model {Yolo} -Mirror '{TestPaths.FixtureModels}'").ThrowIfErrors();
        Assert.True(File.Exists(Path.Combine(processRoot, "models", "YOLOv8Face", "YOLOV8_LITE_T", "yolov8-lite-t-face.onnx")));

        _ps.Run("Set-ModelCacheLocation -Reset").ThrowIfErrors();
        Assert.Equal("EnvironmentVariable", _ps.Run("(Get-ModelCacheLocation).Source").Output[0].ToString());
    }

    [Fact]
    public void A_user_scope_location_is_persisted_and_whatif_persists_nothing()
    {
        var userRoot = _ps.Temp.Combine("user-root");
        _ps.Run("$env:MODELCACHE_HOME = $null").ThrowIfErrors();

        _ps.Run($"Set-ModelCacheLocation '{userRoot}' -Scope User -WhatIf").ThrowIfErrors();
        Assert.NotEqual("UserSetting", _ps.Run("(Get-ModelCacheLocation).Source").Output[0].ToString());

        _ps.Run($"Set-ModelCacheLocation '{userRoot}' -Scope User").ThrowIfErrors();
        var location = _ps.Run("Get-ModelCacheLocation").ThrowIfErrors().Output[0];
        Assert.Equal("UserSetting", location.Properties["Source"].Value.ToString());
        Assert.Equal(userRoot, location.Properties["Path"].Value);
        Assert.True(File.Exists(_ps.Temp.Combine("config", "modelcache", "settings.json")));
    }

    [Fact]
    public void Model_names_complete_from_the_local_catalog()
    {
        var result = _ps.Run("(TabExpansion2 -inputScript 'Save-Model RetinaFace/MN' -cursorColumn 24).CompletionMatches.CompletionText").ThrowIfErrors();
        var texts = result.Output.Select(o => o.ToString()).ToList();
        Assert.Contains("RetinaFace/MNET_V2", texts);
        Assert.Contains("RetinaFace/MNET_025", texts);
        Assert.All(texts, t => Assert.StartsWith("RetinaFace/MN", t, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Every_output_type_has_a_table_view_whose_columns_exist()
    {
        var views = XDocument.Load(Path.Combine(TestPaths.RepoRoot, "module", "ModelCache.Format.ps1xml")).Descendants("View")
            .ToDictionary(v => v.Element("ViewSelectedBy")!.Element("TypeName")!.Value, v => v);
        var outputTypes = _ps.Run("Get-Command -Module ModelCache | ForEach-Object { $_.OutputType.Type }").ThrowIfErrors().Output
            .Select(o => (Type)o.BaseObject)
            .Where(t => t != typeof(bool))
            .Distinct()
            .ToList();

        Assert.NotEmpty(outputTypes);
        foreach (var type in outputTypes)
        {
            Assert.True(views.TryGetValue(type.FullName!, out var view), $"no view for {type.FullName}");
            Assert.NotNull(view!.Element("TableControl"));
            foreach (var property in view.Descendants("PropertyName").Select(p => p.Value))
            {
                Assert.True(type.GetProperty(property) is not null, $"{type.Name} has no property {property}");
            }
        }
    }
}
