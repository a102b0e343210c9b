using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace ModelCache.HelpCompiler;

/// <summary>
/// Reads one cmdlet page. The format (see module/help/README.md) is a strict subset of Markdown:
/// <c># Verb-Noun</c>, then <c>##</c> sections SYNOPSIS, DESCRIPTION, EXAMPLES, PARAMETERS, INPUTS,
/// OUTPUTS, NOTES, RELATED LINKS; <c>###</c> entries under EXAMPLES, PARAMETERS, INPUTS and OUTPUTS;
/// paragraphs, <c>-</c> lists and fenced code blocks. Anything else is an error, so typos fail the build.
/// </summary>
public static class CommandHelpParser
{
    private static readonly string[] KnownSections = { "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS" };
    private static readonly string[] EntrySections = { "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS" };
    private static readonly string[] YamlKeys = { "Type", "Parameter Sets", "Aliases", "Required", "Position", "Default value", "Accept pipeline input", "Accept wildcard characters" };
    private static readonly Regex ListItem = new(@"^(\s*)([-*]|\d+\.)\s");
    private static readonly Regex Link = new(@"^[-*]?\s*\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)\s*$");
    private static readonly Regex CommandName = new(@"^[A-Z][A-Za-z]+-[A-Z][A-Za-z]+$");

    public static CommandHelp ParseFile(string path) => Parse(File.ReadAllLines(path), path);

    public static CommandHelp Parse(IReadOnlyList<string> lines, string file)
    {
        var blocks = Lex(lines, file);
        if (blocks.Count == 0 || blocks[0] is not { Kind: BlockKind.Heading, Level: 1 })
        {
            throw new HelpSourceException(file, 1, "the page must start with '# Verb-Noun'.");
        }

        var name = blocks[0].Text;
        if (!CommandName.IsMatch(name) || !string.Equals(name + ".md", Path.GetFileName(file), StringComparison.Ordinal))
        {
            throw new HelpSourceException(file, blocks[0].Line, $"the title '{name}' must be the cmdlet name and match the file name.");
        }

        var sections = new Dictionary<string, Section>(StringComparer.Ordinal);
        Section? current = null;
        foreach (var block in blocks.Skip(1))
        {
            switch (block)
            {
                case { Kind: BlockKind.Heading, Level: 2 }:
                    if (!KnownSections.Contains(block.Text))
                    {
                        throw new HelpSourceException(file, block.Line, $"unknown section '{block.Text}'; expected one of {string.Join(", ", KnownSections)}.");
                    }

                    if (sections.ContainsKey(block.Text))
                    {
                        throw new HelpSourceException(file, block.Line, $"section '{block.Text}' appears twice.");
                    }

                    current = new Section(block.Text, block.Line);
                    sections.Add(block.Text, current);
                    break;
                case { Kind: BlockKind.Heading, Level: 3 }:
                    if (current is null || !EntrySections.Contains(current.Name))
                    {
                        throw new HelpSourceException(file, block.Line, "'###' headings belong only under EXAMPLES, PARAMETERS, INPUTS and OUTPUTS.");
                    }

                    current.Entries.Add(new Entry(block.Text, block.Line));
                    break;
                case { Kind: BlockKind.Heading }:
                    throw new HelpSourceException(file, block.Line, "only '#', '##' and '###' headings are used.");
                default:
                    if (current is null)
                    {
                        throw new HelpSourceException(file, block.Line, "text before the first '##' section.");
                    }

                    (current.Entries.Count > 0 ? current.Entries[^1].Blocks : current.Blocks).Add(block);
                    break;
            }
        }

        var synopsis = Require(sections, "SYNOPSIS", file, blocks[0].Line);
        if (synopsis.Blocks.Count != 1 || synopsis.Blocks[0].Kind != BlockKind.Paragraph)
        {
            throw new HelpSourceException(file, synopsis.Line, "SYNOPSIS must be exactly one paragraph.");
        }

        var description = Require(sections, "DESCRIPTION", file, blocks[0].Line);
        var examples = Require(sections, "EXAMPLES", file, blocks[0].Line);
        return new CommandHelp(
            name,
            synopsis.Blocks[0].Text,
            Paragraphs(description, file),
            examples.Entries.Select(e => ParseExample(e, file)).ToList(),
            sections.TryGetValue("PARAMETERS", out var parameters) ? ParseParameters(parameters, file) : Array.Empty<ParameterHelp>(),
            sections.TryGetValue("INPUTS", out var inputs) ? inputs.Entries.Select(e => new TypeHelp(e.Title, e.Blocks.Select(b => b.Text).ToList())).ToList() : Array.Empty<TypeHelp>(),
            sections.TryGetValue("OUTPUTS", out var outputs) ? outputs.Entries.Select(e => new TypeHelp(e.Title, e.Blocks.Select(b => b.Text).ToList())).ToList() : Array.Empty<TypeHelp>(),
            sections.TryGetValue("NOTES", out var notes) ? notes.Blocks.Select(b => b.Text).ToList() : Array.Empty<string>(),
            sections.TryGetValue("RELATED LINKS", out var links) ? ParseLinks(links, file) : Array.Empty<LinkHelp>());
    }

    private static Section Require(Dictionary<string, Section> sections, string name, string file, int line) =>
        sections.TryGetValue(name, out var section) ? section : throw new HelpSourceException(file, line, $"the {name} section is missing.");

    private static List<string> Paragraphs(Section section, string file) =>
        section.Blocks.Count > 0 ? section.Blocks.Select(b => b.Text).ToList() : throw new HelpSourceException(file, section.Line, $"{section.Name} is empty.");

    private static ExampleHelp ParseExample(Entry entry, string file)
    {
        if (entry.Blocks.Count == 0 || entry.Blocks[0].Kind != BlockKind.Code)
        {
            throw new HelpSourceException(file, entry.Line, $"example '{entry.Title}' must start with a fenced code block.");
        }

        var remarks = entry.Blocks.Skip(1).Select(b => b.Text).ToList();
        if (remarks.Count == 0)
        {
            throw new HelpSourceException(file, entry.Line, $"example '{entry.Title}' needs a paragraph saying what it does.");
        }

        return new ExampleHelp(entry.Title, entry.Blocks[0].Text, remarks);
    }

    private static List<ParameterHelp> ParseParameters(Section section, string file)
    {
        var result = new List<ParameterHelp>();
        foreach (var entry in section.Entries)
        {
            if (!entry.Title.StartsWith('-') || entry.Title.Length < 2)
            {
                throw new HelpSourceException(file, entry.Line, $"a parameter heading is '### -Name', not '### {entry.Title}'.");
            }

            var yaml = entry.Blocks.Where(b => b.Kind == BlockKind.Code && b.Info == "yaml").ToList();
            var prose = entry.Blocks.Where(b => b.Kind == BlockKind.Paragraph).Select(b => b.Text).ToList();
            if (yaml.Count != 1 || prose.Count == 0 || entry.Blocks[^1] != yaml[0])
            {
                throw new HelpSourceException(file, entry.Line, $"parameter '{entry.Title}' needs a description and then exactly one ```yaml block.");
            }

            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (line, offset) in yaml[0].Text.Split('\n').Select((l, i) => (l, i)))
            {
                var colon = line.IndexOf(':');
                var key = colon < 0 ? line.Trim() : line.Substring(0, colon).Trim();
                if (colon < 0 || !YamlKeys.Contains(key) || !values.TryAdd(key, line.Substring(colon + 1).Trim()))
                {
                    throw new HelpSourceException(file, yaml[0].Line + 1 + offset, $"expected one of {string.Join(", ", YamlKeys)} (each once) as 'Key: value'.");
                }
            }

            string Value(string key) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : throw new HelpSourceException(file, yaml[0].Line, $"parameter '{entry.Title}' lacks '{key}:'.");
            bool Flag(string key) => Value(key) switch
            {
                "True" => true,
                "False" => false,
                var other => throw new HelpSourceException(file, yaml[0].Line, $"'{key}' is True or False, not '{other}'."),
            };

            var pipeline = Value("Accept pipeline input");
            if (pipeline is not ("False" or "True (ByValue)" or "True (ByPropertyName)" or "True (ByPropertyName, ByValue)"))
            {
                throw new HelpSourceException(file, yaml[0].Line, "'Accept pipeline input' is False, True (ByValue), True (ByPropertyName) or True (ByPropertyName, ByValue).");
            }

            var position = Value("Position");
            int? index = position == "Named" ? null
                : int.TryParse(position, out var p) && p >= 0 ? p
                : throw new HelpSourceException(file, yaml[0].Line, $"'Position' is Named or a number, not '{position}'.");
            var sets = Value("Parameter Sets");
            result.Add(new ParameterHelp(
                entry.Title.Substring(1),
                prose,
                Value("Type"),
                sets == "(All)" ? Array.Empty<string>() : SplitList(sets),
                values.TryGetValue("Aliases", out var aliases) ? SplitList(aliases) : Array.Empty<string>(),
                Flag("Required"),
                index,
                pipeline.Contains("ByValue", StringComparison.Ordinal),
                pipeline.Contains("ByPropertyName", StringComparison.Ordinal),
                Flag("Accept wildcard characters"),
                values.TryGetValue("Default value", out var defaultValue) && defaultValue.Length > 0 ? defaultValue : "None"));
        }

        var duplicate = result.GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new HelpSourceException(file, section.Line, $"parameter '-{duplicate.Key}' is described twice.");
        }

        return result;
    }

    private static List<LinkHelp> ParseLinks(Section section, string file)
    {
        var links = new List<LinkHelp>();
        foreach (var block in section.Blocks)
        {
            foreach (var line in block.Text.Split('\n'))
            {
                var match = Link.Match(line.Trim());
                if (!match.Success)
                {
                    throw new HelpSourceException(file, block.Line, $"RELATED LINKS holds '- [text](uri)' lines only, not '{line}'.");
                }

                links.Add(new LinkHelp(match.Groups["text"].Value, match.Groups["uri"].Value));
            }
        }

        return links;
    }

    private static string[] SplitList(string value) =>
        value.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToArray();

    /// <summary>Headings, fenced code blocks and paragraphs (lines joined; list items keep their own line).</summary>
    private static List<Block> Lex(IReadOnlyList<string> lines, string file)
    {
        var blocks = new List<Block>();
        var paragraph = new List<string>();
        var paragraphLine = 0;

        void Flush()
        {
            if (paragraph.Count > 0)
            {
                blocks.Add(new Block(BlockKind.Paragraph, 0, string.Join("\n", paragraph), paragraphLine, string.Empty));
                paragraph.Clear();
            }
        }

        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i].TrimEnd();
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                Flush();
                var start = i;
                var code = new List<string>();
                while (++i < lines.Count && !lines[i].TrimEnd().Equals("```", StringComparison.Ordinal))
                {
                    code.Add(lines[i].TrimEnd());
                }

                if (i == lines.Count)
                {
                    throw new HelpSourceException(file, start + 1, "unclosed code block.");
                }

                blocks.Add(new Block(BlockKind.Code, 0, string.Join("\n", code), start + 1, line.Substring(3).Trim()));
            }
            else if (line.StartsWith('#'))
            {
                Flush();
                var level = line.TakeWhile(c => c == '#').Count();
                blocks.Add(new Block(BlockKind.Heading, level, line.Substring(level).Trim(), i + 1, string.Empty));
            }
            else if (line.Length == 0)
            {
                Flush();
            }
            else if (paragraph.Count == 0 || ListItem.IsMatch(line))
            {
                paragraphLine = paragraph.Count == 0 ? i + 1 : paragraphLine;
                paragraph.Add(line.Trim().Length == line.Length || ListItem.IsMatch(line) ? line : line.Trim());
            }
            else
            {
                // A wrapped line continues the previous one: Get-Help wraps text itself.
                paragraph[^1] += " " + line.Trim();
            }
        }

        Flush();
        return blocks;
    }

    private enum BlockKind
    {
        Heading,
        Paragraph,
        Code,
    }

    private sealed record Block(BlockKind Kind, int Level, string Text, int Line, string Info);

    private sealed class Section(string name, int line)
    {
        public string Name { get; } = name;

        public int Line { get; } = line;

        public List<Block> Blocks { get; } = new();

        public List<Entry> Entries { get; } = new();
    }

    private sealed class Entry(string title, int line)
    {
        public string Title { get; } = title;

        public int Line { get; } = line;

        public List<Block> Blocks { get; } = new();
    }
}
