using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

public class CatalogTests
{
    private static readonly ModelCatalog BuiltIn = new(ModelCatalog.ReadBuiltIn());

    public static IEnumerable<object[]> ReferenceRows() =>
        ReadTsv("uniface-catalog.tsv").Concat(ReadTsv("extra-models.tsv")).Select(row => new object[] { row });

    [Theory]
    [MemberData(nameof(ReferenceRows))]
    public void Every_reference_row_is_built_in_with_its_exact_hash_url_and_file_name(Dictionary<string, string> row)
    {
        Assert.True(BuiltIn.TryGet(row["family"] + "/" + row["member"], out var model), $"{row["family"]}/{row["member"]} is missing");
        Assert.Equal(row["sha256"], model!.Sha256);
        Assert.Equal(row["url"], model.Url!.ToString());
        Assert.Equal(row["cache_file_name"], model.FileName);
        Assert.Equal(row["task"], model.Task);
        if (row.TryGetValue("size_bytes", out var size))
        {
            Assert.Equal(long.Parse(size), model.Size);
        }

        if (row.TryGetValue("is_family_default", out var isDefault))
        {
            Assert.Equal(isDefault == "yes", model.IsDefault);
        }
    }

    [Fact]
    public void Built_in_catalog_has_exactly_the_reference_rows()
    {
        var expected = ReadTsv("uniface-catalog.tsv").Concat(ReadTsv("extra-models.tsv")).Select(r => r["family"] + "/" + r["member"]).OrderBy(n => n);
        Assert.Equal(expected, BuiltIn.Models.Select(m => m.Name).OrderBy(n => n));
    }

    [Theory]
    [InlineData("RetinaFace/MNET_V2", "RetinaFace/MNET_V2")]
    [InlineData("retinaface/mnet_v2", "RetinaFace/MNET_V2")]
    [InlineData("MNET_V2", "RetinaFace/MNET_V2")]
    [InlineData("mnet_v2", "RetinaFace/MNET_V2")]
    [InlineData("RESNET18", "RetinaFace/RESNET18")]
    [InlineData("MobileFace/MNET_V2", "MobileFace/MNET_V2")]
    [InlineData("SPHERE20", "SphereFace/SPHERE20")]
    [InlineData("YOLOV8_LITE_T", "YOLOv8Face/YOLOV8_LITE_T")]
    public void Names_resolve_bare_or_qualified_and_detection_wins_bare_ties(string name, string expected)
    {
        Assert.Equal(expected, BuiltIn.Resolve(name).Name);
    }

    [Fact]
    public void A_bare_name_shared_by_non_detection_families_is_ambiguous_and_lists_them()
    {
        var error = Assert.Throws<ModelNameException>(() => BuiltIn.Resolve("DEFAULT"));
        Assert.Equal("AmbiguousModelName", error.ErrorId);
        Assert.Contains("AgeGender/DEFAULT", error.Candidates);
        Assert.Contains("XSeg/DEFAULT", error.Candidates);
        var expected = ReadTsv("uniface-catalog.tsv").Where(r => r["member"] == "DEFAULT").Select(r => r["family"] + "/DEFAULT");
        Assert.Equal(expected.OrderBy(n => n), error.Candidates.OrderBy(n => n));
    }

    [Fact]
    public void An_unknown_name_suggests_the_closest_candidates()
    {
        var error = Assert.Throws<ModelNameException>(() => BuiltIn.Resolve("MNET_V3"));
        Assert.Equal("ModelNotFound", error.ErrorId);
        Assert.Contains("RetinaFace/MNET_V2", error.Candidates);
        Assert.Contains("RetinaFace/MNET_V2", error.RecommendedAction);
    }

    [Fact]
    public void A_user_catalog_adds_models_and_overrides_built_in_entries()
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("mine.json");
        File.WriteAllText(file, """
            {
              "models": [
                { "family": "Custom", "member": "TINY", "task": "face_detection", "fileName": "tiny.onnx",
                  "url": "https://example.invalid/tiny.onnx", "sha256": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "size": 10 },
                { "family": "RetinaFace", "member": "MNET_V2", "task": "face_detection", "fileName": "retinaface_mnet_v2.onnx",
                  "url": "https://mirror.invalid/mv2.onnx", "sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" }
              ]
            }
            """);

        var catalog = ModelCatalog.Load(new[] { file });

        Assert.Equal("Custom/TINY", catalog.Resolve("tiny").Name);
        Assert.Equal(new string('a', 64), catalog.Resolve("tiny").Sha256);
        Assert.Equal("https://mirror.invalid/mv2.onnx", catalog.Resolve("MNET_V2").Url!.ToString());
        Assert.Equal(file, catalog.Resolve("MNET_V2").Origin);
        Assert.Equal(BuiltIn.Models.Count + 1, catalog.Models.Count);
    }

    [Theory]
    [InlineData("{\n  \"models\": [\n    { \"family\": \"A\", \n", 4)]
    [InlineData("{\n  \"models\": [\n    { \"family\": \"A\", \"member\": \"B\", \"fileName\": \"b.onnx\",\n      \"url\": \"https://x.invalid/b\", \"sha256\": \"123\" }\n  ]\n}", 4)]
    [InlineData("{\n  \"models\": [\n    {\n      \"family\": \"A\", \"member\": \"B\", \"fileName\": \"../b.onnx\", \"url\": \"https://x.invalid/b\",\n      \"sha256\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" } ] }", 4)]
    [InlineData("{\n  \"things\": []\n}", 1)]
    [InlineData("[\n]", 1)]
    [InlineData("{ \"models\": [ { \"family\": \"..\", \"member\": \"B\" } ] }", 1)]
    public void A_malformed_user_catalog_names_the_file_and_line(string json, int line)
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("broken.json");
        File.WriteAllText(file, json);

        var error = Assert.Throws<CatalogFormatException>(() => ModelCatalog.Load(new[] { file }));

        Assert.Equal("CatalogInvalid", error.ErrorId);
        Assert.Equal(file, error.File);
        Assert.Equal(line, error.Line);
        Assert.Contains(file, error.Message);
        Assert.Contains($"line {line}", error.Message);
    }

    // Every size that is not a positive whole number of bytes that fits a file length, whatever JSON number form it takes.
    [Theory]
    [InlineData("9223372036854775808")]
    [InlineData("99999999999999999999999999999")]
    [InlineData("-99999999999999999999999999999")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("1.5")]
    [InlineData("10.0")]
    [InlineData("1e3")]
    [InlineData("1E+30")]
    [InlineData("1e400")]
    [InlineData("\"10\"")]
    [InlineData("true")]
    [InlineData("[10]")]
    public void A_size_that_is_not_a_positive_long_names_the_file_line_and_position(string size)
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("sizes.json");
        File.WriteAllText(file, "{\n  \"models\": [\n    { \"family\": \"A\", \"member\": \"B\", \"fileName\": \"b.onnx\",\n      \"sha256\": \"" + new string('a', 64) + "\",\n      \"size\": " + size + " }\n  ]\n}");

        var error = Assert.Throws<CatalogFormatException>(() => ModelCatalog.Load(new[] { file }));

        Assert.Equal("CatalogInvalid", error.ErrorId);
        Assert.Equal(file, error.File);
        Assert.Equal(5, error.Line);
        Assert.True(error.Position > 0);
        Assert.Contains("\"size\"", error.Message);
    }

    [Fact]
    public void The_largest_long_size_is_accepted()
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("big.json");
        File.WriteAllText(file, "{ \"models\": [ { \"family\": \"A\", \"member\": \"B\", \"fileName\": \"b.onnx\", \"sha256\": \"" + new string('a', 64) + "\", \"size\": 9223372036854775807 } ] }");

        Assert.Equal(long.MaxValue, ModelCatalog.Load(new[] { file }).Resolve("A/B").Size);
    }

    // One file that lists a model twice (in any letter case, as names resolve) or repeats a key is refused with both lines named.
    [Theory]
    [InlineData("A", "B", "A", "B")]
    [InlineData("A", "B", "a", "b")]
    public void A_model_listed_twice_in_one_file_names_both_lines(string family1, string member1, string family2, string member2)
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("twice.json");
        string Entry(string family, string member, string fileName) =>
            "    { \"family\": \"" + family + "\", \"member\": \"" + member + "\", \"fileName\": \"" + fileName + "\", \"sha256\": \"" + new string('a', 64) + "\" }";
        File.WriteAllText(file, "{\n  \"models\": [\n" + Entry(family1, member1, "b.onnx") + ",\n" + Entry("C", "D", "d.onnx") + ",\n" + Entry(family2, member2, "c.onnx") + "\n  ]\n}");

        var error = Assert.Throws<CatalogFormatException>(() => ModelCatalog.Load(new[] { file }));

        Assert.Equal("CatalogInvalid", error.ErrorId);
        Assert.Equal(5, error.Line);
        Assert.Contains("line 3", error.Message);
        Assert.Contains("line 5", error.Message);
    }

    [Theory]
    [InlineData("{\n  \"models\": [],\n  \"models\": [\n" + "  ]\n}", 2, 3)]
    [InlineData("{\n  \"models\": [\n    { \"family\": \"A\", \"member\": \"B\", \"fileName\": \"b.onnx\",\n      \"sha256\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\n      \"sha256\": \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\" }\n  ]\n}", 4, 5)]
    [InlineData("{\n  \"models\": [\n    { \"family\": \"A\", \"member\": \"B\", \"fileName\": \"b.onnx\", \"sha256\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\n      \"huggingFace\": { \"repo\": \"o/r\", \"file\": \"a.onnx\",\n        \"file\": \"b.onnx\" } }\n  ]\n}", 4, 5)]
    public void A_repeated_key_in_a_catalog_names_both_lines(string json, int firstLine, int secondLine)
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("keys.json");
        File.WriteAllText(file, json);

        var error = Assert.Throws<CatalogFormatException>(() => ModelCatalog.Load(new[] { file }));

        Assert.Equal("CatalogInvalid", error.ErrorId);
        Assert.Equal(secondLine, error.Line);
        Assert.Contains($"line {firstLine}", error.Message);
    }

    [Fact]
    public void A_missing_user_catalog_is_an_error_naming_the_file()
    {
        var error = Assert.Throws<CatalogFormatException>(() => ModelCatalog.Load(new[] { "/nonexistent/catalog.json" }));
        Assert.Contains("/nonexistent/catalog.json", error.Message);
    }

    [Theory]
    [InlineData("RetinaFace/*", "RetinaFace/MNET_V2", true)]
    [InlineData("*mnet*", "RetinaFace/MNET_V2", true)]
    [InlineData("MNET_V?", "MNET_V2", true)]
    [InlineData("[MR]NET_V2", "MNET_V2", true)]
    [InlineData("SCRFD/*", "RetinaFace/MNET_V2", false)]
    [InlineData("MNET", "MNET_V2", false)]
    public void Wildcards_match_like_powershell(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, new WildcardMatcher(pattern).IsMatch(text));
    }

    private static IEnumerable<Dictionary<string, string>> ReadTsv(string name)
    {
        var lines = File.ReadAllLines(Path.Combine(TestPaths.Reference, name)).Where(l => l.Length > 0).ToList();
        var header = lines[0].Split('\t');
        return lines.Skip(1).Select(line => header.Zip(line.Split('\t')).ToDictionary(p => p.First, p => p.Second));
    }
}
