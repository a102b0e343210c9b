using System;
using System.IO;

namespace ModelCache.Testing;

/// <summary>Locations of the repository, the shared fixtures beside it, and scratch directories.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string SharedRoot => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string FixtureModels => Path.Combine(SharedRoot, "fixtures", "models");

    public static string FixtureImages => Path.Combine(SharedRoot, "fixtures", "images");

    public static string Reference => Path.Combine(SharedRoot, "reference");

    public static string Manifest => Path.Combine(RepoRoot, "ModelCache.psd1");

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ModelCache.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find ModelCache.sln above " + AppContext.BaseDirectory);
    }
}
