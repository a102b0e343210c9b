using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Mono.Cecil;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// docs/troubleshooting.md documents exactly the error ids the built module can emit (<see cref="ErrorIdScanner"/>), each
/// once, with what it means, a Fix: naming real parameters and a From: naming real cmdlets, behind a complete alphabetical index.
/// </summary>
public class ErrorIdDocTests
{
    /// <summary>Values reaching an error id that the scanner may leave untraced, and why. Empty: every id is a literal we can read.</summary>
    private static readonly Dictionary<string, string> AllowedUnresolved = new(StringComparer.Ordinal);

    /// <summary>Parameters every cmdlet has, which the help pages do not list.</summary>
    private static readonly string[] CommonParameters = { "ErrorAction", "WarningAction", "Verbose", "Debug", "ErrorVariable", "OutVariable", "InformationAction" };

    private static readonly Lazy<ErrorIdScanner> Scan = new(ErrorIdScanner.Scan);

    private static readonly Lazy<TroubleshootingPage> Page = new(TroubleshootingPage.Read);

    [Fact]
    public void The_scanner_finds_the_ids_of_every_assembly()
    {
        // A scanner that finds nothing would make the page test pass with an empty page.
        var ids = Scan.Value.Ids;
        Assert.True(ids.Count >= 100, $"Only {ids.Count} error ids found in the module's assemblies.");
        foreach (var (id, assembly) in new[] { ("HashMismatch", "PowerShell"), ("CatalogInvalid", "Core"), ("ModelLoadFailed", "Inference"), ("ServerBusy", "Server") })
        {
            Assert.True(ids.TryGetValue(id, out var origins) && origins.Any(o => o.Contains("src/ModelCache." + assembly + "/", StringComparison.Ordinal)),
                $"{id} should be found in ModelCache.{assembly}; found at: {(origins is null ? "nowhere" : string.Join(", ", origins))}");
        }
    }

    [Fact]
    public void Every_error_id_is_traced_to_its_literals()
    {
        var unresolved = Scan.Value.Unresolved.Where(u => !AllowedUnresolved.Keys.Any(k => u.Contains(k, StringComparison.Ordinal))).ToList();
        Assert.True(unresolved.Count == 0,
            "Error ids the scanner cannot trace to string literals (use a literal or a constant, or allow-list the value with a reason):\n"
            + string.Join("\n", unresolved));
    }

    [Fact]
    public void The_page_documents_exactly_the_emitted_ids()
    {
        var emitted = Scan.Value.Ids;
        var documented = Page.Value.Entries.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        var missing = emitted.Keys.Where(id => !documented.Contains(id)).ToList();
        var stale = documented.Where(id => !emitted.ContainsKey(id)).OrderBy(id => id, StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0 && stale.Count == 0,
            "docs/troubleshooting.md and the module's error ids differ.\n"
            + (missing.Count == 0 ? "" : "Missing from the page (add a ### `Id` entry with Fix: and From:):\n"
                + string.Join("\n", missing.Select(id => $"  {id}  <- {string.Join("; ", emitted[id])}")) + "\n")
            + (stale.Count == 0 ? "" : "On the page but emitted nowhere (remove the entry):\n  " + string.Join("\n  ", stale)));
    }

    [Fact]
    public void Each_entry_appears_once_with_a_meaning_a_fix_and_its_commands()
    {
        var problems = new List<string>();
        foreach (var group in Page.Value.Entries.GroupBy(e => e.Id).Where(g => g.Count() > 1))
        {
            problems.Add($"{group.Key} has {group.Count()} entries");
        }

        foreach (var entry in Page.Value.Entries)
        {
            if (entry.Meaning.Length == 0)
            {
                problems.Add($"{entry.Id}: no text saying what it means before Fix:");
            }

            if (entry.Fix.Length == 0)
            {
                problems.Add($"{entry.Id}: no 'Fix:' paragraph");
            }

            if (entry.From.Length == 0)
            {
                problems.Add($"{entry.Id}: no 'From:' line");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_index_lists_every_entry_alphabetically()
    {
        var index = Page.Value.Index;
        var entries = Page.Value.Entries.Select(e => e.Id).ToList();
        var problems = new List<string>();
        var sorted = index.Select(l => l.Id).OrderBy(id => id, StringComparer.OrdinalIgnoreCase).ToList();
        var firstOutOfOrder = index.Select(l => l.Id).Zip(sorted, (a, b) => (a, b)).FirstOrDefault(p => p.a != p.b);
        if (firstOutOfOrder != default)
        {
            problems.Add($"The index is not alphabetical: '{firstOutOfOrder.a}' is where '{firstOutOfOrder.b}' belongs");
        }

        problems.AddRange(entries.Except(index.Select(l => l.Id)).Select(id => $"{id} is not in the index"));
        problems.AddRange(index.Select(l => l.Id).Except(entries).Select(id => $"{id} is in the index but has no entry"));
        problems.AddRange(index.GroupBy(l => l.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key} is in the index {g.Count()} times"));
        problems.AddRange(index.Where(l => l.Anchor != Anchor(l.Id)).Select(l => $"{l.Id} links to #{l.Anchor}, its heading's anchor is #{Anchor(l.Id)}"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void From_names_exported_cmdlets()
    {
        var exported = ExportedCmdlets();
        var problems = new List<string>();
        foreach (var entry in Page.Value.Entries)
        {
            var named = Regex.Matches(entry.From, @"\b[A-Z][a-z]+-[A-Z][A-Za-z]+\b").Select(m => m.Value).ToList();
            if (named.Count == 0 && !entry.From.Contains("any command", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{entry.Id}: From: names no cmdlet ('{entry.From}')");
            }

            problems.AddRange(named.Where(n => !exported.Contains(n)).Select(n => $"{entry.Id}: From: names '{n}', which the module does not export"));
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Parameters_named_in_fixes_exist()
    {
        var parameters = HelpParameters().Concat(CommonParameters).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.Contains("CachePath", parameters);
        var problems = new List<string>();
        foreach (var entry in Page.Value.Entries)
        {
            foreach (Match m in Regex.Matches(entry.Fix, @"(?<![\w$:-])-([A-Z][A-Za-z]+)\b"))
            {
                if (!parameters.Contains(m.Groups[1].Value))
                {
                    problems.Add($"{entry.Id}: Fix names -{m.Groups[1].Value}, a parameter of no exported cmdlet");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_page_names_no_internal_type()
    {
        var types = InternalTypeNames();
        var ids = Page.Value.Entries.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        var named = Regex.Matches(Page.Value.Text, @"(?<![\w-])(?:ModelCache\.)?[A-Z][A-Za-z0-9]+(?:\.[A-Z][A-Za-z0-9]+)*")
            .Select(m => m.Value)
            .Where(w => w.StartsWith("ModelCache.", StringComparison.Ordinal) || (types.Contains(w) && !ids.Contains(w)))
            .Distinct()
            .ToList();
        Assert.True(named.Count == 0, "docs/troubleshooting.md names internal .NET types: " + string.Join(", ", named));
    }

    /// <summary>GitHub's anchor for a heading that is just the id in backticks.</summary>
    private static string Anchor(string id) => id.ToLowerInvariant();

    private static HashSet<string> ExportedCmdlets()
    {
        var manifest = File.ReadAllText(TestPaths.Manifest);
        var list = Regex.Match(manifest, @"CmdletsToExport\s*=\s*@\((?<list>[^)]*)\)");
        Assert.True(list.Success, "No CmdletsToExport in ModelCache.psd1");
        return Regex.Matches(list.Groups["list"].Value, @"'([^']+)'").Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
    }

    private static IEnumerable<string> HelpParameters()
    {
        foreach (var cmdlet in ExportedCmdlets())
        {
            var help = Path.Combine(TestPaths.RepoRoot, "module", "help", cmdlet + ".md");
            foreach (Match m in Regex.Matches(File.ReadAllText(help), @"^### -(\w+)", RegexOptions.Multiline))
            {
                yield return m.Groups[1].Value;
            }
        }
    }

    /// <summary>Names of the module's own types that read as identifiers (two capitals or more), not plain words.</summary>
    private static HashSet<string> InternalTypeNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var bin = Path.Combine(TestPaths.RepoRoot, "module", "bin");
        foreach (var name in ErrorIdScanner.AssemblyNames)
        {
            var file = Path.Combine(bin, name + ".dll");
            using var module = ModuleDefinition.ReadModule(File.Exists(file) ? file : Path.Combine(bin, "dependencies", name + ".dll"));
            foreach (var type in module.GetTypes().Where(t => !t.Name.Contains('<') && !t.Name.Contains('`')))
            {
                if (type.Name.Count(char.IsUpper) >= 2)
                {
                    names.Add(type.Name);
                }
            }
        }

        return names;
    }

    private sealed record Entry(string Id, string Meaning, string Fix, string From);

    private sealed record IndexLink(string Id, string Anchor);

    private sealed class TroubleshootingPage
    {
        private TroubleshootingPage(string text, List<Entry> entries, List<IndexLink> index)
        {
            Text = text;
            Entries = entries;
            Index = index;
        }

        public string Text { get; }

        public List<Entry> Entries { get; }

        public List<IndexLink> Index { get; }

        public static TroubleshootingPage Read()
        {
            var text = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "troubleshooting.md")).Replace("\r\n", "\n");
            var lines = text.Split('\n');
            var entries = new List<Entry>();
            var index = new List<IndexLink>();
            string? section = null;
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].StartsWith("## ", StringComparison.Ordinal))
                {
                    section = lines[i].Substring(3).Trim();
                    continue;
                }

                if (section == "Index")
                {
                    index.AddRange(Regex.Matches(lines[i], @"\[`(\w+)`\]\(#([\w-]+)\)").Select(m => new IndexLink(m.Groups[1].Value, m.Groups[2].Value)));
                }

                var heading = Regex.Match(lines[i], @"^### `(\w+)`\s*$");
                if (!heading.Success)
                {
                    continue;
                }

                var body = new List<string>();
                for (var j = i + 1; j < lines.Length && !lines[j].StartsWith("#", StringComparison.Ordinal); j++)
                {
                    body.Add(lines[j]);
                }

                var paragraphs = string.Join("\n", body).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(p => p.Replace('\n', ' ')).ToList();
                string Labelled(string label) => paragraphs.FirstOrDefault(p => p.StartsWith(label, StringComparison.Ordinal))?.Substring(label.Length).Trim() ?? "";
                var meaning = string.Join(" ", paragraphs.TakeWhile(p => !p.StartsWith("Fix:", StringComparison.Ordinal) && !p.StartsWith("From:", StringComparison.Ordinal)));
                entries.Add(new Entry(heading.Groups[1].Value, meaning, Labelled("Fix:"), Labelled("From:")));
            }

            return new TroubleshootingPage(text, entries, index);
        }
    }
}
