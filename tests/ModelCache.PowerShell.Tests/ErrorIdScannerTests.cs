using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// The scanner on code shapes of its own (<see cref="ErrorIdScannerFixture"/>, compiled into this assembly): each traced
/// to its literals, and what cannot be traced reported, not dropped.
/// </summary>
public class ErrorIdScannerTests
{
    private static readonly Lazy<ErrorIdScanner> Scan = new(() => ErrorIdScanner.Scan(new[] { typeof(ErrorIdScannerFixture).Assembly.Location }));

    [Fact]
    public void Ids_are_traced_through_constants_fields_helpers_returns_out_arguments_concatenation_lambdas_and_async_bodies()
    {
        var expected = new[]
        {
            "FixtureLiteral", "FixtureConstant", "FixtureStaticField", "FixtureTernaryA", "FixtureTernaryB", "FixtureHelper",
            "FixtureSwitchA", "FixtureSwitchB", "FixtureOut", "FixtureConcatA", "FixtureConcatB", "FixtureLambda", "FixtureAsync", "FixtureSetter",
        };
        var found = Scan.Value.Ids.Keys.Where(id => id.StartsWith("Fixture", StringComparison.Ordinal)).ToList();
        Assert.Equal(expected.OrderBy(x => x, StringComparer.Ordinal), found.OrderBy(x => x, StringComparer.Ordinal));
        Assert.Contains(Scan.Value.Ids["FixtureLiteral"], o => o.Contains("ErrorIdScannerTests.cs:", StringComparison.Ordinal));
    }

    [Fact]
    public void Values_that_are_no_literal_id_are_reported()
    {
        var reported = Scan.Value.Unresolved.Where(u => u.Contains(nameof(ErrorIdScannerFixture), StringComparison.Ordinal)).ToList();
        foreach (var shape in new[] { nameof(ErrorIdScannerFixture.Computed), "has no direct caller", "'not an id' is not an id" })
        {
            Assert.True(reported.Any(u => u.Contains(shape, StringComparison.Ordinal)), $"Nothing reported for {shape}:\n" + string.Join("\n", reported));
        }
    }
}

/// <summary>Ways code hands an error id to a parameter named errorId; only the scanner reads this, from the IL.</summary>
internal static class ErrorIdScannerFixture
{
    private const string FromConstant = "FixtureConstant";

    private static readonly string FromStaticField = "FixtureStaticField";

    public static List<string> Seen { get; } = new();

    public static void Literal() => Fail("FixtureLiteral");

    public static void Constant() => Fail(FromConstant);

    public static void StaticField() => Fail(FromStaticField);

    public static void Ternary(bool b) => Fail(b ? "FixtureTernaryA" : "FixtureTernaryB");

    public static void Helper() => Forward("FixtureHelper");

    public static void Returned(int n) => Fail(Pick(n));

    public static void Out(string s)
    {
        if (!TryParse(s, out var id))
        {
            Fail(id!);
        }
    }

    public static void Concatenated(bool b) => Fail("Fixture" + (b ? "ConcatA" : "ConcatB"));

    public static void Lambda()
    {
        Action fail = () => Fail("FixtureLambda");
        fail();
    }

    public static async Task Async()
    {
        await Task.Yield();
        Fail("FixtureAsync");
    }

    public static void Setter() => _ = new Holder { ErrorId = "FixtureSetter" };

    public static void Computed() => Fail(DateTime.Now.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static void NotAnId() => Fail("not an id");

    public static void DelegateParameter()
    {
        Action<string> fail = id => Fail(id);
        fail("FixtureThroughDelegate");
    }

    private static void Fail(string errorId) => Seen.Add(errorId);

    private static void Forward(string id) => Fail(id);

    private static string Pick(int n) => n switch { 0 => "FixtureSwitchA", _ => "FixtureSwitchB" };

    private static bool TryParse(string s, out string? errorId)
    {
        errorId = s.Length == 0 ? "FixtureOut" : null;
        return errorId is null;
    }

    private sealed class Holder
    {
        public string? ErrorId { get; set; }
    }
}
