namespace ModelCache.Configuration;

/// <summary>The slice of the process environment ModelCache reads, so tests can supply their own.</summary>
public interface IEnvironment
{
    string? GetVariable(string name);

    string HomeDirectory { get; }

    bool IsWindows { get; }

    /// <summary>%LOCALAPPDATA% on Windows; unused elsewhere.</summary>
    string? LocalApplicationData { get; }

    /// <summary>%APPDATA% on Windows; unused elsewhere.</summary>
    string? ApplicationData { get; }
}
