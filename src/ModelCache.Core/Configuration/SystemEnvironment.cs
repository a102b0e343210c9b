using System;
using System.Runtime.InteropServices;

namespace ModelCache.Configuration;

/// <summary>The real process environment.</summary>
public sealed class SystemEnvironment : IEnvironment
{
    public static SystemEnvironment Instance { get; } = new();

    private SystemEnvironment()
    {
    }

    public string? GetVariable(string name) => Environment.GetEnvironmentVariable(name);

    public string HomeDirectory => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    public bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    public string? LocalApplicationData => Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);

    public string? ApplicationData => Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData);
}
