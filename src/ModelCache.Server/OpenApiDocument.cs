using System;
using System.IO;

namespace ModelCache.Server;

/// <summary>
/// <c>GET /openapi.json</c>: the OpenAPI 3 document of every route in <see cref="ServerRouter.Routes"/>, kept as a file
/// beside the code (openapi.json, embedded) so it reads as the reference it is. Tests validate it with a real OpenAPI
/// parser, check live answers against its schemas, and hold its paths equal to the router's.
/// </summary>
internal static class OpenApiDocument
{
    private static readonly Lazy<string> Document = new(() =>
    {
        using var stream = typeof(OpenApiDocument).Assembly.GetManifestResourceStream("ModelCache.Server.openapi.json")
            ?? throw new InvalidOperationException("The OpenAPI document is not embedded in the server assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static string Text => Document.Value;
}
