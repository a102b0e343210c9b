using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Mono.Cecil;
using Mono.Cecil.Cil;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// Every error id the built module can emit, read from its IL. A value is an id where it reaches a parameter named
/// <c>errorId</c> of any called method (the exception's constructor, its factories, the error-record helpers, PowerShell's
/// ErrorRecord, the server's error body) or an <c>ErrorId</c> setter. The method bodies are interpreted over sets of
/// abstract values (constants, parameters, fields, return values, out arguments, concatenations), so an id passed
/// through helpers, closures, async state machines, ternaries or out parameters is traced back to its string literals.
/// What cannot be traced (a computed string, a delegate's parameter) is reported as unresolved, never dropped.
/// </summary>
internal sealed class ErrorIdScanner
{
    public static readonly string[] AssemblyNames = { "ModelCache.Core", "ModelCache.Inference", "ModelCache.Server", "ModelCache.PowerShell" };

    /// <summary>Methods with an <c>errorId</c> parameter that is not one of ours, and why.</summary>
    private static readonly Dictionary<string, string> ExcludedSinkTypes = new(StringComparer.Ordinal)
    {
        ["ModelCache.Transfer.ServerErrorBody"] = "holds the id another server sent in its error body, shown to the user as that server's id",
    };

    private static readonly Regex IdShape = new("^[A-Z][A-Za-z0-9]+$", RegexOptions.CultureInvariant);

    private readonly Dictionary<string, List<(ValueSet[] Args, Site Site)>> _calls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ValueSet>> _fieldStores = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ValueSet>> _returns = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ValueSet>> _outStores = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _overriddenBy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _bases = new(StringComparer.Ordinal);
    private readonly List<(ValueSet Value, Site Site, string Sink)> _sinks = new();
    private readonly Dictionary<Atom, Resolution> _memo = new();
    private readonly HashSet<Atom> _resolving = new();

    private readonly HashSet<string> _scanned;

    private ErrorIdScanner(IEnumerable<string> scannedAssemblies) => _scanned = new HashSet<string>(scannedAssemblies, StringComparer.Ordinal);

    /// <summary>Each id and the places (file:line, method) its literal comes from.</summary>
    public SortedDictionary<string, SortedSet<string>> Ids { get; } = new(StringComparer.Ordinal);

    /// <summary>Values reaching an id sink that could not be traced to literals: "why — where".</summary>
    public SortedSet<string> Unresolved { get; } = new(StringComparer.Ordinal);

    /// <summary>The module's four assemblies, as built into module/bin.</summary>
    public static ErrorIdScanner Scan()
    {
        var bin = Path.Combine(TestPaths.RepoRoot, "module", "bin");
        return Scan(AssemblyNames.Select(name => File.Exists(Path.Combine(bin, name + ".dll")) ? Path.Combine(bin, name + ".dll") : Path.Combine(bin, "dependencies", name + ".dll")));
    }

    /// <summary>The given assemblies; calls into any other assembly are not followed.</summary>
    public static ErrorIdScanner Scan(IEnumerable<string> files)
    {
        var bin = Path.Combine(TestPaths.RepoRoot, "module", "bin");
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(bin);
        resolver.AddSearchDirectory(Path.Combine(bin, "dependencies"));
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(System.Management.Automation.PSCmdlet).Assembly.Location)!);
        var modules = new List<ModuleDefinition>();
        try
        {
            foreach (var file in files)
            {
                resolver.AddSearchDirectory(Path.GetDirectoryName(file)!);
                var hasSymbols = File.Exists(Path.ChangeExtension(file, ".pdb"));
                modules.Add(ModuleDefinition.ReadModule(file, new ReaderParameters { AssemblyResolver = resolver, ReadSymbols = hasSymbols }));
            }

            var scanner = new ErrorIdScanner(modules.Select(m => m.Assembly.Name.Name));
            foreach (var method in modules.SelectMany(m => m.GetTypes()).SelectMany(t => t.Methods))
            {
                scanner.IndexOverrides(method);
                if (method.HasBody)
                {
                    new MethodInterpreter(scanner, method).Run();
                }
            }

            scanner.ResolveSinks();
            return scanner;
        }
        finally
        {
            foreach (var module in modules)
            {
                module.Dispose();
            }

            resolver.Dispose();
        }
    }

    private static string Key(MethodReference method) => (method.Resolve() ?? (MemberReference)method).FullName;

    private static string Key(FieldReference field) => (field.Resolve() ?? (MemberReference)field).FullName;

    private void IndexOverrides(MethodDefinition method)
    {
        // A call through a base or interface method may land here: its parameters also receive that call's arguments.
        var bases = new List<MethodReference>(method.Overrides);
        if (method.IsVirtual && !method.IsNewSlot)
        {
            for (var type = method.DeclaringType.BaseType?.Resolve(); type is not null; type = type.BaseType?.Resolve())
            {
                if (type.Methods.FirstOrDefault(m => m.Name == method.Name && m.Parameters.Count == method.Parameters.Count && m.IsVirtual) is { } found)
                {
                    bases.Add(found);
                    break;
                }
            }
        }

        if (method.IsVirtual)
        {
            foreach (var iface in method.DeclaringType.Interfaces.Select(i => i.InterfaceType.Resolve()).Where(i => i is not null))
            {
                bases.AddRange(iface!.Methods.Where(m => m.Name == method.Name && m.Parameters.Count == method.Parameters.Count));
            }
        }

        foreach (var b in bases)
        {
            Add(_overriddenBy, Key(b), Key(method));
            Add(_bases, Key(method), Key(b));
        }
    }

    private static void Add<T>(Dictionary<string, List<T>> map, string key, T value)
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = new List<T>();
        }

        list.Add(value);
    }

    private void OnCall(MethodReference callee, ValueSet[] args, Site site)
    {
        var key = Key(callee);
        Add(_calls, key, (args, site));
        var definition = callee.Resolve();
        var parameters = definition?.Parameters ?? callee.Parameters;
        var declaring = (definition?.DeclaringType ?? callee.DeclaringType).FullName;
        if (ExcludedSinkTypes.ContainsKey(declaring))
        {
            return;
        }

        for (var i = 0; i < parameters.Count && i < args.Length; i++)
        {
            var isErrorRecordId = declaring == "System.Management.Automation.ErrorRecord" && callee.Name == ".ctor" && parameters.Count == 4 && i == 1;
            if (parameters[i].Name == "errorId" || isErrorRecordId)
            {
                // An out errorId: what the callee writes there is the id.
                var value = parameters[i].ParameterType.IsByReference ? new ValueSet(new OutArgument(key, i)) : args[i];
                _sinks.Add((value, site, callee.DeclaringType.Name + "::" + callee.Name));
            }
        }

        if (callee.Name == "set_ErrorId" && args.Length == 1)
        {
            _sinks.Add((args[0], site, callee.DeclaringType.Name + "::set_ErrorId"));
        }
    }

    private void ResolveSinks()
    {
        foreach (var (value, site, sink) in _sinks)
        {
            var resolution = Resolve(value);
            foreach (var (id, origin) in resolution.Ids)
            {
                if (IdShape.IsMatch(id))
                {
                    if (!Ids.TryGetValue(id, out var origins))
                    {
                        Ids[id] = origins = new SortedSet<string>(StringComparer.Ordinal);
                    }

                    origins.Add(origin.ToString());
                }
                else
                {
                    Unresolved.Add($"'{id}' is not an id (PascalCase letters and digits) — {origin}, reaching {sink} at {site}");
                }
            }

            foreach (var why in resolution.Unresolved)
            {
                Unresolved.Add($"{why}, reaching {sink} at {site}");
            }
        }
    }

    private Resolution Resolve(ValueSet value)
    {
        var result = new Resolution();
        foreach (var atom in value.Atoms)
        {
            result.Add(Resolve(atom));
        }

        return result;
    }

    private Resolution Resolve(Atom atom)
    {
        switch (atom)
        {
            case Const c:
                return Resolution.Of(c.Value, c.Site);
            case Null or Forwarded:
                return new Resolution();
            case Unknown u:
                return Resolution.Fail(u.Why);
            case Concat cc:
            {
                var left = Resolve(cc.Left);
                var right = Resolve(cc.Right);
                var result = new Resolution();
                result.Unresolved.UnionWith(left.Unresolved);
                result.Unresolved.UnionWith(right.Unresolved);
                foreach (var l in left.Ids)
                {
                    foreach (var r in right.Ids)
                    {
                        result.Ids.Add((l.Id + r.Id, l.Origin));
                    }
                }

                return result;
            }
        }

        if (_memo.TryGetValue(atom, out var known))
        {
            return known;
        }

        if (!_resolving.Add(atom))
        {
            return new Resolution(); // a cycle: the values entering it from outside are collected where they enter
        }

        var sources = Sources(atom, out var none);
        var resolved = new Resolution();
        if (sources.Count == 0)
        {
            resolved.Unresolved.Add(none);
        }

        foreach (var source in sources)
        {
            resolved.Add(Resolve(source));
        }

        _resolving.Remove(atom);
        _memo[atom] = resolved;
        return resolved;
    }

    /// <summary>The value sets flowing into a parameter, field, return value or out argument.</summary>
    private List<ValueSet> Sources(Atom atom, out string none)
    {
        switch (atom)
        {
            case Param p:
            {
                none = $"parameter {p.Index} of {p.Method} has no direct caller (a delegate or reflection call)";
                var list = new List<ValueSet>();
                var methods = new Queue<string>(new[] { p.Method });
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (methods.Count > 0)
                {
                    var m = methods.Dequeue();
                    if (!seen.Add(m))
                    {
                        continue;
                    }

                    if (_calls.TryGetValue(m, out var calls))
                    {
                        list.AddRange(calls.Where(c => p.Index < c.Args.Length).Select(c => c.Args[p.Index]));
                    }

                    // Calls through the base or interface method this one implements.
                    if (_bases.TryGetValue(m, out var bases))
                    {
                        foreach (var baseKey in bases)
                        {
                            methods.Enqueue(baseKey);
                        }
                    }
                }

                return list;
            }

            case FieldValue f:
                none = $"nothing is stored in field {f.Field}";
                return _fieldStores.TryGetValue(f.Field, out var stores) ? stores : new List<ValueSet>();
            case Returned r:
            {
                none = $"the return value of {r.Method} (not read from the module)";
                var list = new List<ValueSet>();
                if (_returns.TryGetValue(r.Method, out var returns))
                {
                    list.AddRange(returns);
                }

                if (_overriddenBy.TryGetValue(r.Method, out var overrides))
                {
                    foreach (var o in overrides)
                    {
                        list.Add(new ValueSet(new Returned(o)));
                    }
                }

                return list;
            }

            case OutArgument o:
                none = $"out argument {o.Index} of {o.Method} is never written";
                return _outStores.TryGetValue(o.Method + "#" + o.Index, out var outs) ? outs : new List<ValueSet>();
            default:
                none = $"{atom} is not a string value";
                return new List<ValueSet>();
        }
    }

    /// <summary>One method body, interpreted over abstract values until nothing changes.</summary>
    private sealed class MethodInterpreter
    {
        private const int MaxAtoms = 256;
        private readonly ErrorIdScanner _scanner;
        private readonly MethodDefinition _method;
        private readonly string _key;
        private readonly Dictionary<Instruction, State> _states = new();
        private readonly Queue<Instruction> _work = new();

        public MethodInterpreter(ErrorIdScanner scanner, MethodDefinition method)
        {
            _scanner = scanner;
            _method = method;
            _key = Key(method);
        }

        public void Run()
        {
            var body = _method.Body;
            var locals = Enumerable.Repeat(new ValueSet(new Null()), body.Variables.Count).ToArray();
            foreach (var handler in body.ExceptionHandlers)
            {
                var entryStack = handler.HandlerType is ExceptionHandlerType.Catch or ExceptionHandlerType.Filter
                    ? new[] { Unknown.At("a caught exception", _method, handler.HandlerStart) }
                    : Array.Empty<ValueSet>();
                _states[handler.HandlerStart] = new State(entryStack, locals);
                _work.Enqueue(handler.HandlerStart);
                if (handler.FilterStart is not null)
                {
                    _states[handler.FilterStart] = new State(new[] { Unknown.At("a caught exception", _method, handler.FilterStart) }, locals);
                    _work.Enqueue(handler.FilterStart);
                }
            }

            Merge(body.Instructions[0], new State(Array.Empty<ValueSet>(), locals));

            // Events are recorded on the final pass only, once every state is stable.
            while (_work.Count > 0)
            {
                var instruction = _work.Dequeue();
                Step(instruction, _states[instruction], record: false);
            }

            foreach (var (instruction, state) in _states.ToList())
            {
                Step(instruction, state, record: true);
            }
        }

        private void Merge(Instruction target, State state)
        {
            if (_states.TryGetValue(target, out var old))
            {
                var merged = old.Union(state);
                if (merged.SameAs(old))
                {
                    return;
                }

                _states[target] = merged;
            }
            else
            {
                _states[target] = state;
            }

            _work.Enqueue(target);

            // Whatever a try block's instructions see, its handlers may see too.
            foreach (var handler in _method.Body.ExceptionHandlers)
            {
                if (target.Offset >= handler.TryStart.Offset && (handler.TryEnd is null || target.Offset < handler.TryEnd.Offset))
                {
                    foreach (var entry in new[] { handler.HandlerStart, handler.FilterStart }.Where(e => e is not null))
                    {
                        var entryState = _states[entry!];
                        var withLocals = new State(entryState.Stack, entryState.Locals.Zip(_states[target].Locals, (a, b) => a.Union(b)).ToArray());
                        if (!withLocals.SameAs(entryState))
                        {
                            _states[entry!] = withLocals;
                            _work.Enqueue(entry!);
                        }
                    }
                }
            }
        }

        private void Step(Instruction ins, State state, bool record)
        {
            var stack = new List<ValueSet>(state.Stack);
            var locals = (ValueSet[])state.Locals.Clone();
            var site = new Site(_method, ins);

            ValueSet Pop()
            {
                if (stack.Count == 0)
                {
                    return Unknown.At("an empty stack", _method, ins);
                }

                var top = stack[stack.Count - 1];
                stack.RemoveAt(stack.Count - 1);
                return top;
            }

            void Push(ValueSet value) => stack.Add(value.Count > MaxAtoms ? Unknown.At("too many values", _method, ins) : value);

            var code = ins.OpCode.Code;
            switch (code)
            {
                case Code.Ldstr:
                    Push(new ValueSet(new Const((string)ins.Operand, site)));
                    break;
                case Code.Ldnull:
                    Push(new ValueSet(new Null()));
                    break;
                case Code.Ldarg_0 or Code.Ldarg_1 or Code.Ldarg_2 or Code.Ldarg_3 or Code.Ldarg or Code.Ldarg_S:
                    Push(Argument(ArgumentIndex(ins), address: false, ins));
                    break;
                case Code.Ldarga or Code.Ldarga_S:
                    Push(Argument(ArgumentIndex(ins), address: true, ins));
                    break;
                case Code.Starg or Code.Starg_S:
                    Pop(); // a parameter reassigned: later reads still name the parameter, which over-approximates nothing we resolve
                    break;
                case Code.Ldloc_0 or Code.Ldloc_1 or Code.Ldloc_2 or Code.Ldloc_3 or Code.Ldloc or Code.Ldloc_S:
                    Push(locals[LocalIndex(ins)]);
                    break;
                case Code.Ldloca or Code.Ldloca_S:
                    Push(new ValueSet(new LocalAddress(LocalIndex(ins))));
                    break;
                case Code.Stloc_0 or Code.Stloc_1 or Code.Stloc_2 or Code.Stloc_3 or Code.Stloc or Code.Stloc_S:
                    locals[LocalIndex(ins)] = Pop();
                    break;
                case Code.Ldfld or Code.Ldsfld:
                    if (code == Code.Ldfld)
                    {
                        Pop();
                    }

                    Push(new ValueSet(new FieldValue(Key((FieldReference)ins.Operand))));
                    break;
                case Code.Ldflda or Code.Ldsflda:
                    if (code == Code.Ldflda)
                    {
                        Pop();
                    }

                    Push(new ValueSet(new FieldAddress(Key((FieldReference)ins.Operand))));
                    break;
                case Code.Stfld or Code.Stsfld:
                {
                    var value = Pop();
                    if (code == Code.Stfld)
                    {
                        Pop();
                    }

                    if (record)
                    {
                        Add(_scanner._fieldStores, Key((FieldReference)ins.Operand), value);
                    }

                    break;
                }

                case Code.Dup:
                {
                    var top = Pop();
                    Push(top);
                    Push(top);
                    break;
                }

                case Code.Stind_Ref or Code.Stobj:
                {
                    var value = Pop();
                    var address = Pop();
                    StoreIndirect(address, value, locals, record);
                    break;
                }

                case Code.Ldind_Ref or Code.Ldobj:
                {
                    var address = Pop();
                    var loaded = new ValueSet();
                    foreach (var atom in address.Atoms)
                    {
                        loaded = loaded.Union(atom switch
                        {
                            LocalAddress l => locals[l.Index],
                            FieldAddress f => new ValueSet(new FieldValue(f.Field)),
                            ParamAddress p => new ValueSet(new Param(p.Method, p.Index)),
                            _ => Unknown.At("a value read through a pointer", _method, ins),
                        });
                    }

                    Push(loaded);
                    break;
                }

                case Code.Castclass or Code.Isinst or Code.Box or Code.Unbox_Any:
                    Push(Pop());
                    break;
                case Code.Call or Code.Callvirt or Code.Newobj:
                    Call((MethodReference)ins.Operand, code == Code.Newobj, stack, locals, site, record);
                    break;
                case Code.Ret:
                    if (_method.ReturnType.MetadataType != MetadataType.Void)
                    {
                        var value = Pop();
                        if (record)
                        {
                            Add(_scanner._returns, _key, value);
                        }
                    }

                    break;
                default:
                    Generic(ins, stack, Pop, Push);
                    break;
            }

            var next = new State(stack.ToArray(), locals);
            switch (ins.OpCode.FlowControl)
            {
                case FlowControl.Branch:
                    Merge((Instruction)ins.Operand, code is Code.Leave or Code.Leave_S ? new State(Array.Empty<ValueSet>(), locals) : next);
                    break;
                case FlowControl.Cond_Branch:
                    if (ins.Operand is Instruction[] targets)
                    {
                        foreach (var target in targets)
                        {
                            Merge(target, next);
                        }
                    }
                    else
                    {
                        Merge((Instruction)ins.Operand, next);
                    }

                    Merge(ins.Next, next);
                    break;
                case FlowControl.Return or FlowControl.Throw:
                    break;
                default:
                    if (ins.Next is not null)
                    {
                        Merge(ins.Next, next);
                    }

                    break;
            }
        }

        private void StoreIndirect(ValueSet address, ValueSet value, ValueSet[] locals, bool record)
        {
            foreach (var atom in address.Atoms)
            {
                switch (atom)
                {
                    case LocalAddress l:
                        locals[l.Index] = locals[l.Index].Union(value);
                        break;
                    case FieldAddress f when record:
                        Add(_scanner._fieldStores, f.Field, value);
                        break;
                    case ParamAddress p when record:
                        Add(_scanner._outStores, p.Method + "#" + p.Index, value);
                        break;
                }
            }
        }

        private void Call(MethodReference callee, bool isNew, List<ValueSet> stack, ValueSet[] locals, Site site, bool record)
        {
            var args = new ValueSet[callee.Parameters.Count];
            for (var i = args.Length - 1; i >= 0; i--)
            {
                args[i] = stack.Count > 0 ? stack[stack.Count - 1] : Unknown.At("an empty stack", _method, site.Instruction);
                if (stack.Count > 0)
                {
                    stack.RemoveAt(stack.Count - 1);
                }
            }

            if (callee.HasThis && !isNew && stack.Count > 0)
            {
                stack.RemoveAt(stack.Count - 1);
            }

            if (record)
            {
                _scanner.OnCall(callee, args, site);
            }

            // An argument passed by reference now holds what the callee wrote.
            for (var i = 0; i < args.Length; i++)
            {
                if (callee.Parameters[i].ParameterType.IsByReference)
                {
                    var written = new ValueSet(new OutArgument(Key(callee), i));
                    StoreIndirect(args[i], written, locals, record);
                }
            }

            if (isNew)
            {
                stack.Add(Unknown.At("a new " + callee.DeclaringType.Name, _method, site.Instruction));
                return;
            }

            if (callee.ReturnType.MetadataType == MetadataType.Void)
            {
                return;
            }

            stack.Add(Result(callee, args, site));
        }

        private ValueSet Result(MethodReference callee, ValueSet[] args, Site site)
        {
            if (callee.Name == "get_ErrorId")
            {
                return new ValueSet(new Forwarded(callee.DeclaringType.Name));
            }

            if (callee.DeclaringType.FullName == "System.String" && callee.Name == "Concat" && args.Length is >= 2 and <= 4
                && callee.Parameters.All(p => p.ParameterType.MetadataType == MetadataType.String))
            {
                var result = args[0];
                for (var i = 1; i < args.Length; i++)
                {
                    var combined = new ValueSet();
                    foreach (var left in result.Atoms)
                    {
                        foreach (var right in args[i].Atoms)
                        {
                            combined = combined.Add(left is Const l && right is Const r ? new Const(l.Value + r.Value, l.Site)
                                : left is Null ? right : right is Null ? left
                                : new Concat(left, right));
                        }
                    }

                    result = combined;
                }

                return result.Atoms.Any(a => a is Concat c && c.Depth > 6) ? Unknown.At("a string built in a loop", _method, site.Instruction) : result;
            }

            var definition = callee.Resolve();
            if (definition is not null && definition.HasBody && _scanner._scanned.Contains(definition.Module.Assembly.Name.Name))
            {
                return new ValueSet(new Returned(Key(definition)));
            }

            if (definition is not null && definition.IsAbstract && _scanner._scanned.Contains(definition.Module.Assembly.Name.Name))
            {
                return new ValueSet(new Returned(Key(definition)));
            }

            return Unknown.At("the result of " + callee.DeclaringType.Name + "." + callee.Name, _method, site.Instruction);
        }

        private ValueSet Argument(int index, bool address, Instruction ins)
        {
            if (_method.HasThis)
            {
                if (index == 0)
                {
                    return Unknown.At("'this'", _method, ins);
                }

                index--;
            }

            var parameter = _method.Parameters[index];
            if (address || parameter.ParameterType.IsByReference)
            {
                return new ValueSet(new ParamAddress(_key, index));
            }

            return new ValueSet(new Param(_key, index));
        }

        private int ArgumentIndex(Instruction ins) => ins.OpCode.Code switch
        {
            Code.Ldarg_0 => 0,
            Code.Ldarg_1 => 1,
            Code.Ldarg_2 => 2,
            Code.Ldarg_3 => 3,
            _ => ins.Operand is ParameterDefinition p ? p.Sequence : Convert.ToInt32(ins.Operand),
        };

        private static int LocalIndex(Instruction ins) => ins.OpCode.Code switch
        {
            Code.Ldloc_0 or Code.Stloc_0 => 0,
            Code.Ldloc_1 or Code.Stloc_1 => 1,
            Code.Ldloc_2 or Code.Stloc_2 => 2,
            Code.Ldloc_3 or Code.Stloc_3 => 3,
            _ => ins.Operand is VariableDefinition v ? v.Index : Convert.ToInt32(ins.Operand),
        };

        /// <summary>Any other instruction: its stack effect, with an unknown result.</summary>
        private void Generic(Instruction ins, List<ValueSet> stack, Func<ValueSet> pop, Action<ValueSet> push)
        {
            if (ins.OpCode.Code is Code.Leave or Code.Leave_S or Code.Endfinally)
            {
                stack.Clear();
                return;
            }

            var pops = ins.OpCode.StackBehaviourPop switch
            {
                StackBehaviour.Pop0 => 0,
                StackBehaviour.Pop1 or StackBehaviour.Popi or StackBehaviour.Popref => 1,
                StackBehaviour.Pop1_pop1 or StackBehaviour.Popi_pop1 or StackBehaviour.Popi_popi or StackBehaviour.Popi_popi8
                    or StackBehaviour.Popi_popr4 or StackBehaviour.Popi_popr8 or StackBehaviour.Popref_pop1 or StackBehaviour.Popref_popi => 2,
                StackBehaviour.Popi_popi_popi or StackBehaviour.Popref_popi_popi or StackBehaviour.Popref_popi_popi8 or StackBehaviour.Popref_popi_popr4
                    or StackBehaviour.Popref_popi_popr8 or StackBehaviour.Popref_popi_popref => 3,
                StackBehaviour.PopAll => stack.Count,
                _ => CallSitePops(ins),
            };
            for (var i = 0; i < pops; i++)
            {
                pop();
            }

            var pushes = ins.OpCode.StackBehaviourPush switch
            {
                StackBehaviour.Push0 => 0,
                StackBehaviour.Push1_push1 => 2,
                StackBehaviour.Varpush => ins.Operand is CallSite c && c.ReturnType.MetadataType != MetadataType.Void ? 1 : 0,
                _ => 1,
            };
            for (var i = 0; i < pushes; i++)
            {
                push(Unknown.At("the result of " + ins.OpCode.Name, _method, ins));
            }
        }

        private static int CallSitePops(Instruction ins) => ins.Operand is CallSite c ? c.Parameters.Count + (c.HasThis ? 1 : 0) + 1 : 0;
    }

    private sealed class State
    {
        public State(ValueSet[] stack, ValueSet[] locals)
        {
            Stack = stack;
            Locals = locals;
        }

        public ValueSet[] Stack { get; }

        public ValueSet[] Locals { get; }

        public State Union(State other)
        {
            var depth = Math.Min(Stack.Length, other.Stack.Length);
            var stack = new ValueSet[depth];
            for (var i = 0; i < depth; i++)
            {
                stack[i] = Stack[Stack.Length - depth + i].Union(other.Stack[other.Stack.Length - depth + i]);
            }

            return new State(stack, Locals.Zip(other.Locals, (a, b) => a.Union(b)).ToArray());
        }

        public bool SameAs(State other) =>
            Stack.Length == other.Stack.Length
            && Stack.Zip(other.Stack, (a, b) => a.SameAs(b)).All(x => x)
            && Locals.Zip(other.Locals, (a, b) => a.SameAs(b)).All(x => x);
    }

    /// <summary>A set of abstract values (immutable).</summary>
    private sealed class ValueSet
    {
        private readonly HashSet<Atom> _atoms;

        public ValueSet(params Atom[] atoms) => _atoms = new HashSet<Atom>(atoms);

        private ValueSet(HashSet<Atom> atoms) => _atoms = atoms;

        public IEnumerable<Atom> Atoms => _atoms;

        public int Count => _atoms.Count;

        public ValueSet Add(Atom atom)
        {
            if (_atoms.Contains(atom))
            {
                return this;
            }

            return new ValueSet(new HashSet<Atom>(_atoms) { atom });
        }

        public ValueSet Union(ValueSet other)
        {
            if (other._atoms.IsSubsetOf(_atoms))
            {
                return this;
            }

            var union = new HashSet<Atom>(_atoms);
            union.UnionWith(other._atoms);
            return new ValueSet(union);
        }

        public bool SameAs(ValueSet other) => ReferenceEquals(this, other) || _atoms.SetEquals(other._atoms);
    }

    private sealed class Resolution
    {
        public HashSet<(string Id, Site Origin)> Ids { get; } = new();

        public HashSet<string> Unresolved { get; } = new(StringComparer.Ordinal);

        public static Resolution Of(string id, Site origin)
        {
            var r = new Resolution();
            r.Ids.Add((id, origin));
            return r;
        }

        public static Resolution Fail(string why)
        {
            var r = new Resolution();
            r.Unresolved.Add(why);
            return r;
        }

        public void Add(Resolution other)
        {
            Ids.UnionWith(other.Ids);
            Unresolved.UnionWith(other.Unresolved);
        }
    }

    /// <summary>An instruction, shown as its source file and line when the module's symbols say it.</summary>
    private sealed record Site(MethodDefinition Method, Instruction Instruction)
    {
        public override string ToString()
        {
            var where = Method.DeclaringType.FullName + "." + Method.Name;
            if (Method.DebugInformation.HasSequencePoints)
            {
                for (var ins = Instruction; ins is not null; ins = ins.Previous)
                {
                    if (Method.DebugInformation.GetSequencePoint(ins) is { IsHidden: false } point)
                    {
                        return $"{RelativeFile(point.Document.Url)}:{point.StartLine} ({where})";
                    }
                }
            }

            return where;
        }

        private static string RelativeFile(string url)
        {
            var normal = url.Replace('\\', '/');
            var src = normal.LastIndexOf("/src/", StringComparison.Ordinal);
            return src >= 0 ? normal.Substring(src + 1) : normal;
        }
    }

    private abstract record Atom;

    private sealed record Const(string Value, Site Site) : Atom;

    private sealed record Null : Atom;

    private sealed record Forwarded(string Type) : Atom;

    /// <summary>A value that is no string literal. Without its site, so that one unknown per cause keeps the sets small.</summary>
    private sealed record Unknown(string Why) : Atom
    {
        public static ValueSet At(string why, MethodDefinition method, Instruction ins) => new(new Unknown(why + " in " + method.DeclaringType.Name + "." + method.Name));
    }

    private sealed record Param(string Method, int Index) : Atom;

    private sealed record ParamAddress(string Method, int Index) : Atom;

    private sealed record LocalAddress(int Index) : Atom;

    private sealed record FieldValue(string Field) : Atom;

    private sealed record FieldAddress(string Field) : Atom;

    private sealed record Returned(string Method) : Atom;

    private sealed record OutArgument(string Method, int Index) : Atom;

    private sealed record Concat(Atom Left, Atom Right) : Atom
    {
        public int Depth => 1 + Math.Max(Left is Concat l ? l.Depth : 0, Right is Concat r ? r.Depth : 0);
    }
}
