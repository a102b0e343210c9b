using System;
using System.IO;
using System.Linq;

namespace ModelCache.HelpCompiler;

/// <summary>
/// <c>HelpCompiler &lt;help source directory&gt; &lt;output MAML file&gt;</c>: reads every cmdlet page
/// (<c>Verb-Noun.md</c>) in the directory and writes one MAML file. Problems are printed in the
/// canonical <c>file(line): error</c> form so MSBuild shows them as build errors.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: HelpCompiler <help source directory> <output MAML file>");
            return 2;
        }

        var sources = Directory.GetFiles(args[0], "*-*.md").OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToList();
        if (sources.Count == 0)
        {
            Console.Error.WriteLine($"{args[0]}: error MCHELP: no cmdlet help pages (Verb-Noun.md) found.");
            return 1;
        }

        try
        {
            var commands = sources.Select(CommandHelpParser.ParseFile).ToList();
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(args[1]))!);
            MamlWriter.Write(commands, args[1]);
            Console.WriteLine($"HelpCompiler: {commands.Count} cmdlet help pages -> {args[1]}");
            return 0;
        }
        catch (HelpSourceException ex)
        {
            Console.Error.WriteLine($"{ex.File}({ex.Line}): error MCHELP: {ex.Message}");
            return 1;
        }
    }
}

/// <summary>A mistake in a help source page, with where it is.</summary>
public sealed class HelpSourceException : Exception
{
    public HelpSourceException(string file, int line, string message)
        : base(message)
    {
        File = file;
        Line = line;
    }

    public string File { get; }

    public int Line { get; }
}
