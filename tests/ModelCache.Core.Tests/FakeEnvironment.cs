using System.Collections.Generic;
using ModelCache.Configuration;

namespace ModelCache.Core.Tests;

internal sealed class FakeEnvironment : IEnvironment
{
    private readonly Dictionary<string, string> _variables = new();

    public FakeEnvironment(string home, bool isWindows = false)
    {
        HomeDirectory = home;
        IsWindows = isWindows;

        // Never the real machine-wide config (/etc/modelcache/config.json): CI runs as root.
        _variables[EnvironmentVariables.MachineConfig] = System.IO.Path.Combine(home, "machine", "config.json");
    }

    public string HomeDirectory { get; }

    public bool IsWindows { get; }

    public string? LocalApplicationData { get; set; }

    public string? ApplicationData { get; set; }

    public FakeEnvironment With(string name, string value)
    {
        _variables[name] = value;
        return this;
    }

    public string? GetVariable(string name) => _variables.TryGetValue(name, out var value) ? value : null;
}
