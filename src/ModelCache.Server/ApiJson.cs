using Newtonsoft.Json;
using Newtonsoft.Json.Converters;
using Newtonsoft.Json.Serialization;

namespace ModelCache.Server;

/// <summary>
/// The one JSON style of every answer: camelCase member names (nested objects included; names a type sets itself, as
/// index.json's manifest does, are kept), enums as their names, dictionary keys as they are (task names are data), and
/// date strings never reinterpreted.
/// </summary>
internal static class ApiJson
{
    public static readonly JsonSerializerSettings Settings = new()
    {
        Formatting = Formatting.Indented,
        ContractResolver = new DefaultContractResolver { NamingStrategy = new CamelCaseNamingStrategy { ProcessDictionaryKeys = false, OverrideSpecifiedNames = false } },
        Converters = { new StringEnumConverter() },
        NullValueHandling = NullValueHandling.Include,
        DateParseHandling = DateParseHandling.None,
    };

    public static readonly JsonSerializer Serializer = JsonSerializer.Create(Settings);

    /// <summary>One line of newline-delimited JSON: no indentation, no line break inside.</summary>
    public static string Line(object value) => JsonConvert.SerializeObject(value, Formatting.None, Settings) + "\n";

    public static string Serialize(object value) => JsonConvert.SerializeObject(value, Settings) + "\n";
}
