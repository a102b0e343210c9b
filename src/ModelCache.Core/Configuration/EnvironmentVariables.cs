namespace ModelCache.Configuration;

/// <summary>Names of the environment variables ModelCache reads.</summary>
public static class EnvironmentVariables
{
    public const string Home = "MODELCACHE_HOME";
    public const string Offline = "MODELCACHE_OFFLINE";
    public const string Mirror = "MODELCACHE_MIRROR";
    public const string MirrorOnly = "MODELCACHE_MIRROR_ONLY";
    public const string Catalog = "MODELCACHE_CATALOG";
    public const string Token = "MODELCACHE_TOKEN";

    /// <summary>Connections per host for downloads (segments and parallel models share them) when -ConnectionsPerHost is not given.</summary>
    public const string ConnectionsPerHost = "MODELCACHE_CONNECTIONS_PER_HOST";

    /// <summary>The admin API's bearer token for Start-ModelCacheServer when -AdminToken is not given.</summary>
    public const string AdminToken = "MODELCACHE_ADMIN_TOKEN";

    /// <summary>The machine-wide (AllUsers) config file, in place of /etc/modelcache/config.json or %ProgramData%\ModelCache\config.json.</summary>
    public const string MachineConfig = "MODELCACHE_MACHINE_CONFIG";
    public const string XdgCacheHome = "XDG_CACHE_HOME";
    public const string XdgConfigHome = "XDG_CONFIG_HOME";

    /// <summary>uniface's own cache folder, the default root of the uniface layout.</summary>
    public const string UnifaceCacheDir = "UNIFACE_CACHE_DIR";

    // Read by the Hugging Face hub cache (the names and meanings of huggingface_hub's own client).
    public const string HfHubCache = "HF_HUB_CACHE";
    public const string HuggingFaceHubCache = "HUGGINGFACE_HUB_CACHE";
    public const string HfHome = "HF_HOME";
    public const string HfEndpoint = "HF_ENDPOINT";
    public const string HfToken = "HF_TOKEN";
    public const string HfHubOffline = "HF_HUB_OFFLINE";
    public const string TransformersOffline = "TRANSFORMERS_OFFLINE";
    public const string HfHubDisableSymlinks = "HF_HUB_DISABLE_SYMLINKS";
}
