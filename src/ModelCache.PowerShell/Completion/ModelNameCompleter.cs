using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using ModelCache.Catalog;
using ModelCache.Configuration;

namespace ModelCache.PowerShell.Completion;

/// <summary>
/// Completes model names from the local catalogs (built-in, registered, the user's catalog.json and $env:MODELCACHE_CATALOG): qualified
/// names, and bare member names wherever they resolve: unique, or shared with one detection family
/// (MNET_V2 → RetinaFace/MNET_V2, as ModelCatalog.Resolve does). Never touches the network.
/// </summary>
public sealed class ModelNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = (wordToComplete ?? string.Empty).Trim('\'', '"');
        ModelCatalog catalog;
        try
        {
            // An unreadable catalog is left out rather than failing completion; the others still complete.
            var environment = SystemEnvironment.Instance;
            catalog = CatalogSources.For(environment, ModelCacheOptions.FromEnvironment(environment).CatalogFiles, Array.Empty<string>())
                .Load(skipAnyUnreadable: true).Catalog;
        }
        catch (Exception)
        {
            // Anything else unexpected (settings unreadable, a bug) must not break tab completion either: the built-in list.
            catalog = new ModelCatalog(ModelCatalog.ReadBuiltIn());
        }

        var candidates = catalog.Models
            .Select(m => (Text: m.Name, Tip: $"{m.Task} · {m.FileName}"))
            .Concat(catalog.Models
                .GroupBy(m => m.Member, StringComparer.OrdinalIgnoreCase)
                .Select(g => g.Count() == 1 ? g.First() : g.Count(m => m.IsDetection) == 1 ? g.Single(m => m.IsDetection) : null)
                .Where(m => m is not null)
                .Select(m => (Text: m!.Member, Tip: m.Name)));

        return candidates
            .Where(c => c.Text.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .OrderBy(c => c.Text, StringComparer.OrdinalIgnoreCase)
            .Select(c => new CompletionResult(c.Text.IndexOf(' ') >= 0 ? $"'{c.Text}'" : c.Text, c.Text, CompletionResultType.ParameterValue, c.Tip));
    }
}
