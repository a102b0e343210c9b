namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Process-wide configuration set by Set-ModelCacheLocation -Scope Process. Configuration only:
/// everything else is built per command from it.
/// </summary>
internal static class ModuleState
{
    private static readonly object Gate = new();
    private static string? _processCacheRoot;

    public static string? ProcessCacheRoot
    {
        get
        {
            lock (Gate)
            {
                return _processCacheRoot;
            }
        }

        set
        {
            lock (Gate)
            {
                _processCacheRoot = value;
            }
        }
    }
}
