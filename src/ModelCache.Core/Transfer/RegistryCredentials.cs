using System;
using System.IO;
using System.Text;
using ModelCache.Configuration;
using ModelCache.Errors;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Transfer;

/// <summary>
/// Where the user name and password for a registry come from, first found wins: -Credential; MODELCACHE_REGISTRY_USER and
/// MODELCACHE_REGISTRY_PASSWORD; the Docker-style config.json that docker, skopeo, helm and ORAS write
/// ($DOCKER_CONFIG/config.json, else ~/.docker/config.json), its <c>auths</c> entry for the registry's host[:port].
/// An <c>identitytoken</c> there (an OAuth2 refresh token, what <c>docker login</c> keeps for some registries) is
/// exchanged at the token service as the token spec's OAuth2 flow has it. A <c>credHelpers</c> / <c>credsStore</c> helper is
/// never run: refused with an error naming it.
/// </summary>
internal sealed class RegistryAccount
{
    public RegistryAccount(string user, string? password, string? identityToken = null)
    {
        User = user;
        Password = password;
        IdentityToken = identityToken;
    }

    public string User { get; }

    /// <summary>Null when the account is an identity token only.</summary>
    public string? Password { get; }

    /// <summary>An OAuth2 refresh token for the registry's token service.</summary>
    public string? IdentityToken { get; }

    /// <summary>Never reveals the secret, whatever logs it.</summary>
    public override string ToString() => User + " ***";
}

/// <summary>Finds the <see cref="RegistryAccount"/> for a registry; see the class above for the order.</summary>
internal static class RegistryCredentials
{
    public const string UserVariable = "MODELCACHE_REGISTRY_USER";
    public const string PasswordVariable = "MODELCACHE_REGISTRY_PASSWORD";
    private const int MaxConfigBytes = 1024 * 1024;

    /// <summary>The config.json key of a registry: host, with :port unless 443.</summary>
    public static string HostKey(OciReference registry) =>
        (registry.Host.Contains(":") ? "[" + registry.Host + "]" : registry.Host) + (registry.Port == 443 ? string.Empty : ":" + registry.Port);

    /// <summary>The credentials for <paramref name="registry"/>, or null for none (anonymous).</summary>
    /// <exception cref="TransferException">RegistryCredentialHelperRefused, RegistryConfigInvalid.</exception>
    public static RegistryAccount? Find(OciReference registry, MirrorCredential? given, IEnvironment environment)
    {
        if (given is { UserName: { } user, Password: { } password })
        {
            return new RegistryAccount(user, password);
        }

        var envUser = environment.GetVariable(UserVariable);
        var envPassword = environment.GetVariable(PasswordVariable);
        if (!string.IsNullOrEmpty(envUser) && envPassword is not null)
        {
            return new RegistryAccount(envUser!, envPassword);
        }

        return FromDockerConfig(registry, environment);
    }

    private static RegistryAccount? FromDockerConfig(OciReference registry, IEnvironment environment)
    {
        var folder = environment.GetVariable("DOCKER_CONFIG");
        if (string.IsNullOrEmpty(folder))
        {
            var home = environment.GetVariable("HOME");
            if (string.IsNullOrEmpty(home))
            {
                home = environment.GetVariable("USERPROFILE");
            }

            if (string.IsNullOrEmpty(home))
            {
                return null;
            }

            folder = Path.Combine(home, ".docker");
        }

        var path = Path.Combine(folder, "config.json");
        var hostKey = HostKey(registry);
        JObject config;
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            // A regular file only (never a FIFO left in its place), and bounded.
            var bytes = IO.RootGuard.ReadBounded(path, MaxConfigBytes) ?? throw ConfigInvalid(path, $"it is larger than {MaxConfigBytes} bytes");
            using var reader = new JsonTextReader(new StringReader(Encoding.UTF8.GetString(bytes))) { MaxDepth = 16, DateParseHandling = DateParseHandling.None };
            config = JObject.Load(reader);
        }
        catch (JsonException)
        {
            throw ConfigInvalid(path, "it is not a JSON object");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw ConfigInvalid(path, ex.Message);
        }

        if (Lookup(config["credHelpers"] as JObject, hostKey) is JValue { Value: string helper })
        {
            throw HelperRefused(registry, path, helper);
        }

        var entry = Lookup(config["auths"] as JObject, hostKey) as JObject;
        if (entry?["identitytoken"] is JValue { Value: string identityToken } && identityToken.Length > 0)
        {
            return new RegistryAccount("<token>", null, identityToken);
        }

        if (entry?["auth"] is JValue { Value: string auth } && auth.Length > 0)
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
            }
            catch (FormatException)
            {
                throw ConfigInvalid(path, $"the auth of {hostKey} is not base64");
            }

            var colon = decoded.IndexOf(':');
            if (colon <= 0)
            {
                throw ConfigInvalid(path, $"the auth of {hostKey} is not base64 of user:password");
            }

            return new RegistryAccount(decoded.Substring(0, colon), decoded.Substring(colon + 1));
        }

        if (entry is not null && config["credsStore"] is JValue { Value: string store } && store.Length > 0)
        {
            // The login for this host lives in the store: its helper would have to run.
            throw HelperRefused(registry, path, store);
        }

        return null;
    }

    /// <summary>The value for a registry in a map keyed host[:port], with or without a scheme or path as Docker writes them.</summary>
    private static JToken? Lookup(JObject? map, string hostKey)
    {
        if (map is null)
        {
            return null;
        }

        foreach (var property in map.Properties())
        {
            var key = property.Name.Trim();
            var scheme = key.IndexOf("://", StringComparison.Ordinal);
            if (scheme >= 0)
            {
                key = key.Substring(scheme + 3);
            }

            var slash = key.IndexOf('/');
            if (slash >= 0)
            {
                key = key.Substring(0, slash);
            }

            if (string.Equals(key, hostKey, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    private static TransferException HelperRefused(OciReference registry, string path, string helper) =>
        TransferException.Permanent("RegistryCredentialHelperRefused", ModelCacheErrorKind.PermissionDenied,
            $"The registry {registry} asks for credentials, and '{path}' keeps them for {HostKey(registry)} in the credential helper 'docker-credential-{helper}', which ModelCache does not run.",
            $"Pass -Credential, set $env:{UserVariable} and $env:{PasswordVariable}, or point $env:DOCKER_CONFIG at a folder whose config.json has an auths entry with auth (base64 of user:password) for {HostKey(registry)}.");

    private static TransferException ConfigInvalid(string path, string why) =>
        TransferException.Permanent("RegistryConfigInvalid", ModelCacheErrorKind.InvalidData,
            $"The registry credentials file '{path}' cannot be used: {why}.",
            "Fix or remove that config.json, point $env:DOCKER_CONFIG at another folder, or pass -Credential.");
}
