using System;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using ModelCache.Errors;
using ModelCache.Sync;

namespace ModelCache.PowerShell.Hosting;

/// <summary>The host's part of reading a desired-state manifest (see <see cref="SyncManifestReader"/>): a .psd1 data file, read as data by Import-PowerShellDataFile, never run.</summary>
internal static class SyncManifestFile
{
    public static SyncManifest Read(PSCmdlet cmdlet, string path) =>
        SyncManifestReader.Read(cmdlet.GetUnresolvedProviderPathFromPSPath(path), full => ReadDataFile(cmdlet, full));

    private static string? ReadDataFile(PSCmdlet cmdlet, string full)
    {
        try
        {
            RequireDataOnly(full);
            return cmdlet.InvokeCommand.NewScriptBlock("param($p) Import-PowerShellDataFile -LiteralPath $p | ConvertTo-Json -Depth 8 -Compress")
                .Invoke(full).Select(o => o?.ToString()).FirstOrDefault();
        }
        catch (RuntimeException ex)
        {
            throw new ModelCacheException("SyncManifestInvalid", ModelCacheErrorKind.InvalidData, $"The manifest '{full}' is not a valid PowerShell data file: {ex.Message}",
                "Fix the file; it must be a hashtable with FormatVersion = 1 and Models = @(...).", ex);
        }
    }

    /// <summary>
    /// Import-PowerShellDataFile evaluates the file's first hashtable and ignores everything else, so a file with
    /// statements beside it would be taken as data while it reads as a script: only one hashtable (and comments) passes.
    /// </summary>
    private static void RequireDataOnly(string full)
    {
        var ast = Parser.ParseFile(full, out _, out var errors);
        if (errors.Length > 0)
        {
            throw NotData(full, $"it does not parse: {errors[0].Message} (line {errors[0].Extent.StartLineNumber})");
        }

        if (ast.ParamBlock is not null || ast.BeginBlock is not null || ast.ProcessBlock is not null || ast.DynamicParamBlock is not null
            || ast.UsingStatements.Count > 0 || ast.EndBlock is null || ast.EndBlock.Traps is { Count: > 0 })
        {
            throw NotData(full, "it holds script blocks beside its hashtable");
        }

        var statements = ast.EndBlock.Statements;
        if (statements.Count == 1 && IsHashtable(statements[0]))
        {
            return;
        }

        var offending = statements.FirstOrDefault(s => !IsHashtable(s)) ?? statements.Skip(1).FirstOrDefault();
        var where = offending is null ? "it holds no hashtable" : $"line {offending.Extent.StartLineNumber} holds '{Shorten(offending.Extent.Text)}'";
        throw NotData(full, $"it must hold one hashtable and nothing else (statements beside it would not run), but {where}");
    }

    private static bool IsHashtable(StatementAst statement) =>
        statement is PipelineAst { PipelineElements.Count: 1 } pipeline
        && pipeline.PipelineElements[0] is CommandExpressionAst { Redirections.Count: 0, Expression: HashtableAst };

    private static string Shorten(string text)
    {
        var line = text.Split('\n')[0].Trim();
        return line.Length <= 60 ? line : line.Substring(0, 60) + "...";
    }

    private static ModelCacheException NotData(string full, string why) => new("SyncManifestInvalid", ModelCacheErrorKind.InvalidData,
        $"The manifest '{full}' is not a PowerShell data file: {why}.",
        "Make the .psd1 file one hashtable, @{ FormatVersion = 1; Models = @(...) }, with nothing else beside it but comments.");
}
