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

    private static readonly Lazy<ErrorIdScanner> Scan = new(ErrorIdScanner.Scan);

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
}
