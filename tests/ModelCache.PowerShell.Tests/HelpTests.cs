using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// The help users get from Get-Help after importing ModelCache.psd1 from the clone: every exported
/// cmdlet has authored help (compiled from module/help/*.md), every parameter is described and
/// matches the cmdlet's real metadata, and there are examples. Checks run in C# over the help
/// objects, as the hosted engine has no Out-String or Select-Object.
/// </summary>
public sealed class HelpTests : IDisposable
{
    private readonly PowerShellSession _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void Every_exported_cmdlet_has_authored_help_with_synopsis_description_inputs_and_outputs()
    {
        var problems = new List<string>();
        foreach (var cmdlet in ExportedCmdlets())
        {
            var help = GetHelp(cmdlet.Name);
            var synopsis = Text(Prop(help, "Synopsis"));

            // Without help, Get-Help makes a stub whose synopsis is the syntax: "Save-Model [-Name] <string[]> ...".
            if (synopsis.Length < 20 || synopsis.StartsWith(cmdlet.Name, StringComparison.OrdinalIgnoreCase) ||
                synopsis.Contains("CommonParameters", StringComparison.Ordinal) || synopsis.Contains("[-", StringComparison.Ordinal))
            {
                problems.Add($"{cmdlet.Name}: no authored synopsis (got '{synopsis}').");
                continue;
            }

            if (Text(Prop(help, "description")).Length < 100)
            {
                problems.Add($"{cmdlet.Name}: the description is missing or too short.");
            }

            if (!Items(Prop(Prop(help, "inputTypes"), "inputType")).Any())
            {
                problems.Add($"{cmdlet.Name}: INPUTS is empty (use 'None' when nothing is accepted from the pipeline).");
            }

            var outputs = Items(Prop(Prop(help, "returnValues"), "returnValue")).Select(r => Text(Prop(Prop(r, "type"), "name"))).ToList();
            foreach (var declared in cmdlet.OutputType.Select(t => t.Name))
            {
                if (!outputs.Contains(declared, StringComparer.OrdinalIgnoreCase))
                {
                    problems.Add($"{cmdlet.Name}: OUTPUTS does not list its [OutputType] {declared} (lists: {string.Join(", ", outputs)}).");
                }
            }
        }

        AssertNoProblems(problems);
    }

    [Fact]
    public void Every_public_parameter_is_described_and_matches_the_cmdlet()
    {
        var problems = new List<string>();
        foreach (var cmdlet in ExportedCmdlets())
        {
            var documented = Items(Prop(Prop(GetHelp(cmdlet.Name), "parameters"), "parameter"))
                .ToDictionary(p => Text(Prop(p, "name")), StringComparer.OrdinalIgnoreCase);
            var actual = PublicParameters(cmdlet).ToList();

            foreach (var parameter in actual)
            {
                var where = $"{cmdlet.Name} -{parameter.Name}";
                if (!documented.TryGetValue(parameter.Name, out var help))
                {
                    problems.Add($"{where}: not documented.");
                    continue;
                }

                if (Text(Prop(help, "description")).Length < 10)
                {
                    problems.Add($"{where}: no description.");
                }

                var sets = parameter.ParameterSets.Values.ToList();
                if (sets.Select(s => (s.IsMandatory, s.Position)).Distinct().Count() > 1)
                {
                    problems.Add($"{where}: Required or Position differs between parameter sets, which the help format cannot express.");
                    continue;
                }

                Expect(problems, where, "Required", sets[0].IsMandatory ? "true" : "false", Text(Prop(help, "required")));
                Expect(problems, where, "Position", sets[0].Position == int.MinValue ? "named" : sets[0].Position.ToString(System.Globalization.CultureInfo.InvariantCulture), Text(Prop(help, "position")));
                Expect(problems, where, "Accept pipeline input", PipelineInput(sets.Any(s => s.ValueFromPipeline), sets.Any(s => s.ValueFromPipelineByPropertyName)), Text(Prop(help, "pipelineInput")));
                Expect(problems, where, "Accept wildcard characters", parameter.Attributes.OfType<SupportsWildcardsAttribute>().Any() ? "true" : "false", Text(Prop(help, "globbing")));
                Expect(problems, where, "Type", parameter.ParameterType.Name, Text(Prop(Prop(help, "type"), "name")));
                var aliases = Text(Prop(help, "aliases"));
                Expect(problems, where, "Aliases", string.Join(", ", parameter.Aliases.OrderBy(a => a, StringComparer.OrdinalIgnoreCase)),
                    string.Join(", ", aliases.Split(',').Select(a => a.Trim()).Where(a => a.Length > 0 && a != "none" && a != "None").OrderBy(a => a, StringComparer.OrdinalIgnoreCase)));
            }

            foreach (var stale in documented.Keys.Except(actual.Select(p => p.Name), StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"{cmdlet.Name} -{stale}: documented, but the cmdlet has no such parameter.");
            }
        }

        AssertNoProblems(problems);
    }

    [Fact]
    public void The_syntax_shows_each_parameter_set_default_first()
    {
        var problems = new List<string>();
        foreach (var cmdlet in ExportedCmdlets())
        {
            var shown = Items(Prop(Prop(GetHelp(cmdlet.Name), "syntax"), "syntaxItem"))
                .Select(item => Items(Prop(item, "parameter")).Select(p => Text(Prop(p, "name"))).OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToList())
                .Select(names => string.Join(" ", names))
                .ToList();
            var sets = cmdlet.ParameterSets
                .OrderByDescending(s => s.IsDefault)
                .Select(s => string.Join(" ", s.Parameters.Select(p => p.Name).Where(IsPublic).OrderBy(n => n, StringComparer.OrdinalIgnoreCase)))
                .ToList();

            if (!shown.OrderBy(s => s).SequenceEqual(sets.OrderBy(s => s)))
            {
                problems.Add($"{cmdlet.Name}: the syntax shows [{string.Join("] [", shown)}] but the parameter sets are [{string.Join("] [", sets)}].");
            }
            else if (shown[0] != sets[0])
            {
                problems.Add($"{cmdlet.Name}: the default parameter set [{sets[0]}] should be shown first.");
            }
        }

        AssertNoProblems(problems);
    }

    [Fact]
    public void Get_help_save_model_examples_shows_the_save_and_verify_pipeline()
    {
        var help = _ps.Run("Get-Help Save-Model -Examples").ThrowIfErrors().Output.Single();

        var examples = Items(Prop(Prop(help, "examples"), "example")).ToList();
        Assert.True(examples.Count >= 2, $"Get-Help Save-Model -Examples shows {examples.Count} example(s).");
        Assert.Contains(examples, e => Text(Prop(e, "code")).Contains("Save-Model MNET_V2 | Test-ModelHash", StringComparison.Ordinal));
        Assert.DoesNotContain("[-Name]", Text(Prop(help, "Synopsis")), StringComparison.Ordinal);
    }

    [Fact]
    public void About_model_cache_is_found_and_covers_every_cmdlet_and_environment_variable()
    {
        var result = _ps.Run("Get-Help about_ModelCache").ThrowIfErrors();
        var text = string.Join("\n", result.Output.Select(o => o.ToString()));

        Assert.Contains("about_ModelCache", text, StringComparison.Ordinal);
        Assert.Contains("SHORT DESCRIPTION", text, StringComparison.Ordinal);
        // The module's assemblies live in its own load context, where [Type] literals do not reach: find the type by name.
        var variables = _ps.Run("[AppDomain]::CurrentDomain.GetAssemblies().Where({ $_.GetName().Name -eq 'ModelCache.Core' })[0].GetType('ModelCache.Configuration.EnvironmentVariables', $true).GetFields() | ForEach-Object { $_.GetValue($null) }").ThrowIfErrors()
            .Output.Select(o => o.ToString()).ToList();
        Assert.Contains("MODELCACHE_HOME", variables);
        var missing = variables.Concat(ExportedCmdlets().Select(c => c.Name)).Where(name => !text.Contains(name, StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "about_ModelCache does not mention: " + string.Join(", ", missing));
    }

    private static string PipelineInput(bool byValue, bool byPropertyName) => (byValue, byPropertyName) switch
    {
        (true, true) => "True (ByPropertyName, ByValue)",
        (true, false) => "True (ByValue)",
        (false, true) => "True (ByPropertyName)",
        _ => "False",
    };

    private static void Expect(List<string> problems, string where, string what, string expected, string documented)
    {
        if (!string.Equals(expected, documented, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"{where}: {what} is '{expected}' in the cmdlet but '{documented}' in its help.");
        }
    }

    private static void AssertNoProblems(List<string> problems) =>
        Assert.True(problems.Count == 0, "Help problems (edit module/help/<Verb-Noun>.md):" + Environment.NewLine + string.Join(Environment.NewLine, problems));

    /// <summary>Parameters users pass: everything but the common parameters (WhatIf and Confirm included).</summary>
    private static bool IsPublic(string parameter) => !Cmdlet.CommonParameters.Contains(parameter);

    private static IEnumerable<ParameterMetadata> PublicParameters(CmdletInfo cmdlet) => cmdlet.Parameters.Values.Where(p => IsPublic(p.Name));

    private List<CmdletInfo> ExportedCmdlets()
    {
        var cmdlets = _ps.Run("Get-Command -Module ModelCache -CommandType Cmdlet").ThrowIfErrors().Output.Select(o => (CmdletInfo)o.BaseObject).ToList();
        Assert.True(cmdlets.Count >= 7, $"Only {cmdlets.Count} cmdlets are exported.");
        return cmdlets;
    }

    private PSObject GetHelp(string name) => _ps.Run($"Get-Help {name} -Full").ThrowIfErrors().Output.Single();

    private static object? Prop(object? value, string name) => value is null ? null : PSObject.AsPSObject(value).Properties[name]?.Value;

    /// <summary>A help property may hold one object or an array of them.</summary>
    private static IEnumerable<PSObject> Items(object? value)
    {
        var inner = value is PSObject wrapped ? wrapped.BaseObject : value;
        if (inner is null)
        {
            yield break;
        }

        if (inner is IEnumerable many and not string)
        {
            foreach (var item in many)
            {
                if (item is not null)
                {
                    yield return PSObject.AsPSObject(item);
                }
            }
        }
        else
        {
            yield return PSObject.AsPSObject(value!);
        }
    }

    /// <summary>Help text: a string, or paragraphs (objects with a Text property), joined.</summary>
    private static string Text(object? value) =>
        string.Join("\n", Items(value).Select(item => item.BaseObject as string ?? Prop(item, "Text")?.ToString() ?? item.ToString())).Trim();
}
