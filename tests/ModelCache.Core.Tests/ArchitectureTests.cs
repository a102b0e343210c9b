using System.Linq;
using ModelCache.Catalog;

namespace ModelCache.Core.Tests;

public class ArchitectureTests
{
    [Fact]
    public void Core_does_not_reference_PowerShell()
    {
        var references = typeof(ModelCatalog).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain(references, name => name!.StartsWith("System.Management.Automation", System.StringComparison.Ordinal));
        Assert.DoesNotContain(references, name => name!.StartsWith("Microsoft.PowerShell", System.StringComparison.Ordinal));
    }

    [Fact]
    public void Core_carries_no_native_dependency()
    {
        var references = typeof(ModelCatalog).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain("SkiaSharp", references);
        Assert.DoesNotContain("Microsoft.ML.OnnxRuntime", references);
        Assert.DoesNotContain(references, name => name!.StartsWith("ModelCache.Inference", System.StringComparison.Ordinal));
    }
}
