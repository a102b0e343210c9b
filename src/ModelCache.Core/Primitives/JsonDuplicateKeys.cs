using System;
using System.Collections.Generic;
using System.IO;
using Newtonsoft.Json;

namespace ModelCache.Primitives;

/// <summary>A key written twice in one JSON object, with both places.</summary>
public sealed class JsonDuplicateKey
{
    public JsonDuplicateKey(string name, int firstLine, int firstPosition, int line, int position)
    {
        Name = name;
        FirstLine = firstLine;
        FirstPosition = firstPosition;
        Line = line;
        Position = position;
    }

    public string Name { get; }

    public int FirstLine { get; }

    public int FirstPosition { get; }

    /// <summary>Where the key is written again.</summary>
    public int Line { get; }

    public int Position { get; }
}

/// <summary>
/// Finds keys repeated within one JSON object. Json.NET keeps the last of them silently, so a file edited by hand (or
/// crafted) could hide one value behind another; readers of files a person or a stranger writes refuse them instead.
/// </summary>
public static class JsonDuplicateKeys
{
    /// <summary>The first repeated key, or null when there is none (or the text is not JSON: the caller's parse says why).</summary>
    /// <param name="comparer">How keys compare: as the reader that binds them does (a case-insensitive binder needs OrdinalIgnoreCase).</param>
    public static JsonDuplicateKey? Find(string json, StringComparer comparer)
    {
        var open = new Stack<Dictionary<string, (int Line, int Position)>>();
        try
        {
            using var reader = new JsonTextReader(new StringReader(json)) { DateParseHandling = DateParseHandling.None, MaxDepth = 64 };
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonToken.StartObject:
                        open.Push(new Dictionary<string, (int, int)>(comparer));
                        break;
                    case JsonToken.EndObject:
                        open.Pop();
                        break;
                    case JsonToken.PropertyName:
                        var name = (string)reader.Value!;
                        var keys = open.Peek();
                        if (keys.TryGetValue(name, out var first))
                        {
                            return new JsonDuplicateKey(name, first.Line, first.Position, reader.LineNumber, reader.LinePosition);
                        }

                        keys.Add(name, (reader.LineNumber, reader.LinePosition));
                        break;
                }
            }
        }
        catch (JsonReaderException)
        {
            return null;
        }

        return null;
    }
}
