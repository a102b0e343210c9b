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
    public void Moving_the_root_named_by_MODELCACHE_HOME_moves_the_session_to_the_new_root_unless_opted_out()
    {
        var moved = _ps.Temp.Combine("moved");
        var kept = _ps.Temp.Combine("kept");
        _ps.Run($"Save-Model {Yolo} -Mirror '{TestPaths.FixtureModels}' -MirrorOnly").ThrowIfErrors();

        var result = _ps.Run($"Move-ModelCache -Destination '{moved}' -Confirm:$false | Out-Null; $env:MODELCACHE_HOME; (Get-ModelCacheLocation).Path; @(Get-ModelCache).Count").ThrowIfErrors();

        Assert.Equal(new object[] { moved, moved, 1 }, result.Output.Select(o => o.BaseObject));
        Assert.Contains(result.Warnings, w => w.Contains("this session", StringComparison.Ordinal) && w.Contains(moved, StringComparison.Ordinal));

        var optedOut = _ps.Run($"Move-ModelCache -Destination '{kept}' -NoSessionUpdate -Confirm:$false | Out-Null; $env:MODELCACHE_HOME; @(Get-ModelCache -CachePath '{kept}').Count").ThrowIfErrors();

        Assert.Equal(new object[] { moved, 1 }, optedOut.Output.Select(o => o.BaseObject));
        Assert.Contains(optedOut.Warnings, w => w.Contains("still names the old root", StringComparison.Ordinal));
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
    public void Every_output_type_has_a_table_or_list_view_whose_properties_exist()
    {
        // A type may have several views (Get-ModelCacheLocation: a list by default, a table on request).
        var views = XDocument.Load(Path.Combine(TestPaths.RepoRoot, "module", "ModelCache.Format.ps1xml")).Descendants("View")
            .ToLookup(v => v.Element("ViewSelectedBy")!.Element("TypeName")!.Value);
        var outputTypes = _ps.Run("Get-Command -Module ModelCache | ForEach-Object { $_.OutputType.Type }").ThrowIfErrors().Output
            .Select(o => (Type)o.BaseObject)
            .Where(t => t != typeof(bool))
            .Distinct()
            .ToList();

        Assert.NotEmpty(outputTypes);
        foreach (var type in outputTypes)
        {
            Assert.True(views.Contains(type.FullName!), $"no view for {type.FullName}");
            foreach (var view in views[type.FullName!])
            {
                // A table for things listed many at a time; a list for one-object reports (a cache summary).
                Assert.True(view.Element("TableControl") is not null || view.Element("ListControl") is not null, $"{type.Name}'s view is neither a table nor a list");
                foreach (var property in view.Descendants("PropertyName").Select(p => p.Value))
                {
                    Assert.True(type.GetProperty(property) is not null, $"{type.Name} has no property {property}");
                }
            }
        }
    }
}
