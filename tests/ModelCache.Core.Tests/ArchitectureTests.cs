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

    [Fact]
    public void Core_does_not_hold_or_reference_the_server()
    {
        var core = typeof(ModelCatalog).Assembly;
        Assert.DoesNotContain(core.GetReferencedAssemblies(), a => a.Name!.StartsWith("ModelCache.Server", System.StringComparison.Ordinal));
        Assert.DoesNotContain(core.GetTypes(), t => t.Namespace is not null && t.Namespace.StartsWith("ModelCache.Server", System.StringComparison.Ordinal));
    }

    [Fact]
    public void The_server_is_its_own_assembly_over_Core_without_PowerShell()
    {
        var server = typeof(ModelCache.Server.ModelCacheServer).Assembly;
        Assert.Equal("ModelCache.Server", server.GetName().Name);
        var references = server.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains("ModelCache.Core", references);
        Assert.DoesNotContain("ModelCache.PowerShell", references);
        Assert.DoesNotContain(references, name => name!.StartsWith("System.Management.Automation", System.StringComparison.Ordinal));
        Assert.DoesNotContain(references, name => name!.StartsWith("Microsoft.PowerShell", System.StringComparison.Ordinal));
    }

    [Fact]
    public void The_store_does_not_depend_on_the_transfer_engine()
    {
        // Transfer writes into the store; the store knows nothing of transfers (shared plain types live in ModelCache.Primitives).
        var storeTypes = typeof(ModelCatalog).Assembly.GetTypes().Where(t => t.Namespace is not null && t.Namespace.StartsWith("ModelCache.Store", System.StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(storeTypes);
        const System.Reflection.BindingFlags all = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.DeclaredOnly;
        foreach (var type in storeTypes)
        {
            var used = type.GetFields(all).Select(f => f.FieldType)
                .Concat(type.GetProperties(all).Select(p => p.PropertyType))
                .Concat(type.GetMethods(all).SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)))
                .Concat(type.GetConstructors(all).SelectMany(c => c.GetParameters().Select(p => p.ParameterType)))
                .SelectMany(Unwrap);
            Assert.DoesNotContain(used, t => t.Namespace == "ModelCache.Transfer");
        }

        var sources = System.IO.Directory.GetFiles(System.IO.Path.Combine(ModelCache.Testing.TestPaths.RepoRoot, "src", "ModelCache.Core", "Store"), "*.cs", System.IO.SearchOption.AllDirectories);
        Assert.All(sources, file => Assert.DoesNotContain("ModelCache.Transfer", System.IO.File.ReadAllText(file), System.StringComparison.Ordinal));
    }

    private static System.Collections.Generic.IEnumerable<System.Type> Unwrap(System.Type type) =>
        type.IsGenericType ? type.GetGenericArguments().SelectMany(Unwrap).Append(type) : type.HasElementType ? Unwrap(type.GetElementType()!) : new[] { type };
}
