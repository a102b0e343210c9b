using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>build.ps1 runs in real pwsh as <c>pwsh -File build.ps1</c> and its package is a working module.</summary>
public sealed class BuildScriptTests : IDisposable
{
    private readonly TempDirectory _temp = new("modelcache-build");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Package_writes_a_module_that_imports_and_saves_from_a_mirror()
    {
        var output = _temp.Combine("ModelCache");
        using (var package = PwshProcess.StartScript(Path.Combine(TestPaths.RepoRoot, "build.ps1"), new[] { "-Task", "Package", "-NoBuild", "-OutputPath", output, "-RepositoryPath", _temp.Combine("repository") }))
        {
            var result = await package.WaitForExitAsync(TimeSpan.FromMinutes(2));
            Assert.True(result.Succeeded, result.ToString());
        }

        Assert.True(File.Exists(Path.Combine(output, "ModelCache.psd1")));
        // Where the assemblies sit inside the package is build.ps1's business (the import below proves it works).
        Assert.Single(Directory.GetFiles(output, "ModelCache.PowerShell.dll", SearchOption.AllDirectories));
        Assert.True(File.Exists(Path.Combine(output, "en-US", "about_ModelCache.help.txt")));
        Assert.False(Directory.Exists(Path.Combine(output, "module", "help")));
        Assert.Empty(Directory.GetFiles(output, ".gitignore", SearchOption.AllDirectories));
        Assert.Single(Directory.GetFiles(_temp.Combine("repository"), "ModelCache.*.nupkg"));

        var environment = new Dictionary<string, string?>
        {
            ["MODELCACHE_HOME"] = _temp.Combine("cache"),
            ["MODELCACHE_MIRROR"] = TestPaths.FixtureModels,
            ["XDG_CONFIG_HOME"] = _temp.Combine("config"),
        };
        using var use = PwshProcess.StartCommand(
            $"Import-Module '{Path.Combine(output, "ModelCache.psd1")}' -ErrorAction Stop; (Save-Model UltraFace/SLIM_320 | Test-ModelHash).Status; 'about:' + [bool](Get-Help about_ModelCache -ErrorAction Stop)",
            environment);
        var used = await use.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.True(used.Succeeded, used.ToString());
        Assert.Equal("Valid", used.OutputLines.First(l => l.Length > 0));
        Assert.Contains("about:True", used.OutputLines);
    }
}
