using System;
using System.Linq;

namespace ModelCache.Catalog;

/// <summary>The hub's URLs, built from validated names with each segment escaped.</summary>
internal static class HubUrls
{
    /// <summary><c>{endpoint}/{repo}/resolve/{revision}/{path}</c>; a revision such as <c>refs/pr/1</c> is one escaped segment, as the hub's clients send it.</summary>
    public static Uri Resolve(Uri endpoint, HubRepoId repo, string revision, string path) =>
        new(Base(endpoint) + "/" + repo.UrlPrefix + repo.Id + "/resolve/" + Uri.EscapeDataString(revision) + "/" + string.Join("/", path.Split('/').Select(Uri.EscapeDataString)));

    private static string Base(Uri endpoint) => endpoint.ToString().TrimEnd('/');
}
