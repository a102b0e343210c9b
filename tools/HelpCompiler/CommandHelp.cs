using System.Collections.Generic;
using System.Linq;

namespace ModelCache.HelpCompiler;

/// <summary>One cmdlet's help, as read from its Markdown page.</summary>
public sealed record CommandHelp(
    string Name,
    string Synopsis,
    IReadOnlyList<string> Description,
    IReadOnlyList<ExampleHelp> Examples,
    IReadOnlyList<ParameterHelp> Parameters,
    IReadOnlyList<TypeHelp> Inputs,
    IReadOnlyList<TypeHelp> Outputs,
    IReadOnlyList<string> Notes,
    IReadOnlyList<LinkHelp> Links)
{
    public string Verb => Name.Substring(0, Name.IndexOf('-'));

    public string Noun => Name.Substring(Name.IndexOf('-') + 1);
}

/// <param name="Title">Heading text, e.g. "Example 1: Save the default detector".</param>
/// <param name="Code">The first code block: what the user types.</param>
/// <param name="Remarks">Paragraphs (and any further code blocks) after it.</param>
public sealed record ExampleHelp(string Title, string Code, IReadOnlyList<string> Remarks);

/// <param name="ParameterSets">Set names; empty means every set ("(All)").</param>
/// <param name="Position">Null for a named parameter.</param>
public sealed record ParameterHelp(
    string Name,
    IReadOnlyList<string> Description,
    string Type,
    IReadOnlyList<string> ParameterSets,
    IReadOnlyList<string> Aliases,
    bool Required,
    int? Position,
    bool ByValue,
    bool ByPropertyName,
    bool Wildcards,
    string DefaultValue)
{
    public bool IsSwitch => Type == "SwitchParameter";

    public bool InSet(string set) => ParameterSets.Count == 0 || ParameterSets.Contains(set);

    public string PipelineInput => (ByValue, ByPropertyName) switch
    {
        (true, true) => "True (ByPropertyName, ByValue)",
        (true, false) => "True (ByValue)",
        (false, true) => "True (ByPropertyName)",
        _ => "False",
    };
}

/// <summary>An input or output type and what it means for this cmdlet.</summary>
public sealed record TypeHelp(string Name, IReadOnlyList<string> Description);

public sealed record LinkHelp(string Text, string Uri);
