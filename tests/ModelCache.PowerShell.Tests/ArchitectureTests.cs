using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Mono.Cecil;
using Mono.Cecil.Cil;
using ModelCache.Testing;
using Xunit.Abstractions;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// The layers of docs/architecture.md, read from the compiled module: the namespace graph of every assembly
/// (signatures, attributes and method bodies) has no cycle and no edge against the written layer order; only
/// IO opens files; the cmdlet assembly calls operations and backends, not the engine below them.
/// </summary>
public class ArchitectureTests
{
    private static readonly string[] AssemblyNames = { "ModelCache.Core", "ModelCache.Inference", "ModelCache.Server", "ModelCache.PowerShell" };

    private static readonly Lazy<ModuleGraph> Graph = new(ModuleGraph.Load);

    private readonly ITestOutputHelper _output;

    public ArchitectureTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void The_architecture_page_names_every_namespace_in_a_layer()
    {
        var layers = ArchitecturePage.Layers();
        var unlisted = Graph.Value.Namespaces.Where(ns => !layers.ContainsKey(ns)).ToList();
        Assert.True(unlisted.Count == 0, "Namespaces missing from docs/architecture.md's layer list: " + string.Join(", ", unlisted));
        var stale = layers.Keys.Where(ns => !Graph.Value.Namespaces.Contains(ns)).ToList();
        Assert.True(stale.Count == 0, "docs/architecture.md lists namespaces that no longer exist: " + string.Join(", ", stale));
    }

    [Fact]
    public void No_namespace_cycle_in_any_assembly()
    {
        var cycles = Graph.Value.StronglyConnectedComponents().Where(c => c.Count > 1).ToList();
        foreach (var cycle in cycles)
        {
            _output.WriteLine("cycle: " + string.Join(" <-> ", cycle));
            foreach (var edge in Graph.Value.Edges.Where(e => cycle.Contains(e.From) && cycle.Contains(e.To)))
            {
                _output.WriteLine("  " + edge);
            }
        }

        Assert.True(cycles.Count == 0, "Namespace cycles: " + string.Join("; ", cycles.Select(c => string.Join(" <-> ", c))));
    }

    [Fact]
    public void Every_edge_follows_the_layer_order()
    {
        var layers = ArchitecturePage.Layers();
        var against = Graph.Value.Edges
            .Where(e => layers.TryGetValue(e.From, out var from) && layers.TryGetValue(e.To, out var to) && to > from)
            .ToList();
        foreach (var edge in against)
        {
            _output.WriteLine(edge.ToString());
        }

        Assert.True(against.Count == 0, "Edges against the layer order:\n" + string.Join("\n", against.Select(e => e.From + " -> " + e.To + " (" + e.Example + ")").Distinct()));
    }

    [Fact]
    public void Only_IO_opens_files()
    {
        var opens = Graph.Value.Calls
            .Where(c => c.CallerNamespace != "ModelCache.IO" && FileOpeners.Opens(c.Callee))
            .Select(c => c.Caller + " -> " + c.Callee.DeclaringType.FullName + "::" + c.Callee.Name)
            .Distinct()
            .ToList();
        Assert.True(opens.Count == 0, "Files opened outside ModelCache.IO:\n" + string.Join("\n", opens));
    }

    [Fact]
    public void Cmdlets_call_operations_and_backends_not_the_engine()
    {
        string[] engine = { "ModelCache.Store", "ModelCache.Transfer", "ModelCache.HuggingFace", "ModelCache.IO" };
        var calls = Graph.Value.Calls
            .Where(c => c.CallerNamespace.StartsWith("ModelCache.PowerShell", StringComparison.Ordinal))
            .Where(c => engine.Contains(ModuleGraph.NamespaceOf(c.Callee.DeclaringType)))
            .Where(c => !IsDataAccess(c.Callee) && !BackendSeam.Contains(c.Callee.DeclaringType.Name))
            .Select(c => c.Caller.Split('/')[0].Split('.').Last() + " -> " + c.Callee.DeclaringType.Name + "::" + c.Callee.Name)
            .Distinct()
            .OrderBy(c => c, StringComparer.Ordinal)
            .ToList();
        Assert.True(calls.Count == 0, "The cmdlet assembly calls into the engine (call an operation or a backend instead):\n" + string.Join("\n", calls));
    }

    // Reading or setting a property of a result or options object is data access, not a call into the engine.
    // The backend seam (issue 19, item 2) is what cmdlets are meant to call: the interface every cache implements and the
    // types it speaks. It lives low (Store) so that the hub cache above can implement it.
    private static readonly string[] BackendSeam =
        { "ICacheBackend", "CachedFile", "RemovalRequest", "RemovalPlan", "RemovalItem", "RemovalOutcome", "CachedFileCheck", "Selection`1" };

    private static bool IsDataAccess(MemberReference member) =>
        member is FieldReference || member.Name.StartsWith("get_", StringComparison.Ordinal) || member.Name.StartsWith("set_", StringComparison.Ordinal)
        || (member is MethodReference { Name: ".ctor" } ctor && ctor.DeclaringType.Resolve() is { } type && (type.IsValueType || IsPlainData(type)));

    // A record, an options bag, or a class of constructors and accessors only (thresholds and the like; a ToString for
    // display included): nothing to call.
    private static bool IsPlainData(TypeDefinition type) =>
        type.Methods.Any(m => m.Name == "<Clone>$") || type.Name.EndsWith("Options", StringComparison.Ordinal)
        || type.Methods.All(m => m.IsConstructor || m.IsGetter || m.IsSetter || (m.Name == "ToString" && m.IsVirtual && !m.HasParameters));

    private static class ArchitecturePage
    {
        // "1. `ModelCache.Errors`, `ModelCache.Primitives`" — the number is the layer; a namespace may use its own
        // layer and lower ones.
        public static Dictionary<string, int> Layers()
        {
            var page = Path.Combine(TestPaths.RepoRoot, "docs", "architecture.md");
            var text = File.ReadAllText(page);
            var section = Regex.Match(text, @"^## Layers\s*$(.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
            Assert.True(section.Success, "docs/architecture.md has no '## Layers' section");
            var layers = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (Match line in Regex.Matches(section.Groups[1].Value, @"^(\d+)\.\s+(.*)$", RegexOptions.Multiline))
            {
                var layer = int.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                foreach (Match ns in Regex.Matches(line.Groups[2].Value, @"`(ModelCache[\w.]*)`"))
                {
                    layers.Add(ns.Groups[1].Value, layer);
                }
            }

            Assert.NotEmpty(layers);
            return layers;
        }
    }

    private static class FileOpeners
    {
        private static readonly HashSet<string> FileMethods = new(StringComparer.Ordinal)
        {
            "Open", "OpenRead", "OpenWrite", "OpenText", "OpenHandle", "Create", "CreateText", "AppendText",
            "ReadAllBytes", "ReadAllText", "ReadAllLines", "ReadLines", "WriteAllBytes", "WriteAllText", "WriteAllLines",
            "AppendAllText", "AppendAllLines",
        };

        public static bool Opens(MethodReference method)
        {
            var type = method.DeclaringType.FullName;
            var name = method.Name.EndsWith("Async", StringComparison.Ordinal) ? method.Name.Substring(0, method.Name.Length - 5) : method.Name;
            switch (type)
            {
                case "System.IO.File":
                case "System.IO.FileInfo":
                    return FileMethods.Contains(name);
                case "System.IO.FileStream":
                    return name == ".ctor";
                case "System.IO.StreamReader":
                case "System.IO.StreamWriter":
                    return name == ".ctor" && method.Parameters.Count > 0 && method.Parameters[0].ParameterType.FullName == "System.String";
                case "SkiaSharp.SKData":
                case "SkiaSharp.SKCodec":
                case "SkiaSharp.SKBitmap":
                case "SkiaSharp.SKImage":
                    return method.Parameters.Count > 0 && method.Parameters[0].ParameterType.FullName == "System.String" && name is "Create" or "Decode" or "FromEncodedData";
                default:
                    return false;
            }
        }
    }

    internal sealed record Edge(string From, string To, string Example)
    {
        public override string ToString() => From + " -> " + To + " (" + Example + ")";
    }

    internal sealed record Call(string Caller, string CallerNamespace, MethodReference Callee);

    private sealed class ModuleGraph
    {
        public HashSet<string> Namespaces { get; } = new(StringComparer.Ordinal);

        public List<Edge> Edges { get; } = new();

        public List<Call> Calls { get; } = new();

        public static ModuleGraph Load()
        {
            var bin = Path.Combine(TestPaths.RepoRoot, "module", "bin");
            var resolver = new DefaultAssemblyResolver();
            resolver.AddSearchDirectory(bin);
            resolver.AddSearchDirectory(Path.Combine(bin, "dependencies"));
            resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
            resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(System.Management.Automation.PSCmdlet).Assembly.Location)!);
            var graph = new ModuleGraph();
            foreach (var name in AssemblyNames)
            {
                var file = Path.Combine(bin, name + ".dll");
                if (!File.Exists(file))
                {
                    file = Path.Combine(bin, "dependencies", name + ".dll");
                }

                using var module = ModuleDefinition.ReadModule(file, new ReaderParameters { AssemblyResolver = resolver });
                foreach (var type in module.GetTypes())
                {
                    graph.Add(type);
                }
            }

            return graph;
        }

        public static string NamespaceOf(TypeReference type)
        {
            while (type.IsNested)
            {
                type = type.DeclaringType;
            }

            return type.Namespace;
        }

        public IEnumerable<List<string>> StronglyConnectedComponents()
        {
            var next = Edges.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).Distinct().ToList());
            var index = new Dictionary<string, int>();
            var low = new Dictionary<string, int>();
            var stack = new Stack<string>();
            var onStack = new HashSet<string>();
            var components = new List<List<string>>();
            void Visit(string node)
            {
                index[node] = low[node] = index.Count;
                stack.Push(node);
                onStack.Add(node);
                foreach (var to in next.TryGetValue(node, out var targets) ? targets : new List<string>())
                {
                    if (!index.ContainsKey(to))
                    {
                        Visit(to);
                        low[node] = Math.Min(low[node], low[to]);
                    }
                    else if (onStack.Contains(to))
                    {
                        low[node] = Math.Min(low[node], index[to]);
                    }
                }

                if (low[node] == index[node])
                {
                    var component = new List<string>();
                    string member;
                    do
                    {
                        member = stack.Pop();
                        onStack.Remove(member);
                        component.Add(member);
                    }
                    while (member != node);
                    components.Add(component);
                }
            }

            foreach (var node in Namespaces.OrderBy(n => n, StringComparer.Ordinal))
            {
                if (!index.ContainsKey(node))
                {
                    Visit(node);
                }
            }

            return components;
        }

        private void Add(TypeDefinition type)
        {
            var from = NamespaceOf(type);
            if (!from.StartsWith("ModelCache", StringComparison.Ordinal))
            {
                return;
            }

            Namespaces.Add(from);
            var name = type.FullName;
            var used = new List<TypeReference>();
            if (type.BaseType is { } baseType)
            {
                used.Add(baseType);
            }

            used.AddRange(type.Interfaces.Select(i => i.InterfaceType));
            used.AddRange(type.CustomAttributes.Select(a => a.AttributeType));
            used.AddRange(type.Fields.Select(f => f.FieldType));
            used.AddRange(type.Properties.Select(p => p.PropertyType));
            used.AddRange(type.Events.Select(e => e.EventType));
            foreach (var method in type.Methods)
            {
                used.Add(method.ReturnType);
                used.AddRange(method.Parameters.Select(p => p.ParameterType));
                used.AddRange(method.CustomAttributes.Select(a => a.AttributeType));
                if (!method.HasBody)
                {
                    continue;
                }

                used.AddRange(method.Body.Variables.Select(v => v.VariableType));
                foreach (var instruction in method.Body.Instructions)
                {
                    switch (instruction.Operand)
                    {
                        case MethodReference callee:
                            used.Add(callee.DeclaringType);
                            used.Add(callee.ReturnType);
                            used.AddRange(callee.Parameters.Select(p => p.ParameterType));
                            if (callee is GenericInstanceMethod generic)
                            {
                                used.AddRange(generic.GenericArguments);
                            }

                            Calls.Add(new Call(name, from, callee));
                            break;
                        case FieldReference field:
                            used.Add(field.DeclaringType);
                            used.Add(field.FieldType);
                            break;
                        case TypeReference typeOperand:
                            used.Add(typeOperand);
                            break;
                    }
                }
            }

            foreach (var target in used.SelectMany(Unwrap).GroupBy(NamespaceOf))
            {
                if (target.Key != from && target.Key.StartsWith("ModelCache", StringComparison.Ordinal))
                {
                    Edges.Add(new Edge(from, target.Key, name + " uses " + string.Join(", ", target.Select(t => t.Name).Distinct().OrderBy(n => n, StringComparer.Ordinal))));
                }
            }
        }

        private static IEnumerable<TypeReference> Unwrap(TypeReference type) => type switch
        {
            GenericInstanceType generic => generic.GenericArguments.SelectMany(Unwrap).Concat(Unwrap(generic.ElementType)),
            TypeSpecification spec => Unwrap(spec.ElementType),
            GenericParameter => Enumerable.Empty<TypeReference>(),
            _ => new[] { type },
        };
    }
}
