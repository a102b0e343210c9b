using System;
using System.Net.Http.Headers;
using System.Text;

namespace ModelCache.Transfer;

/// <summary>
/// Credentials for private mirrors: a bearer token (MODELCACHE_TOKEN) or a user name and password
/// (-Credential, sent as Basic). Only ever sent to the host of the mirror they were given for.
/// </summary>
public sealed class MirrorCredential
{
    private readonly AuthenticationHeaderValue _header;

    private MirrorCredential(AuthenticationHeaderValue header, string? userName = null, string? password = null)
    {
        _header = header;
        UserName = userName;
        Password = password;
    }

    public static MirrorCredential Bearer(string token) => new(new AuthenticationHeaderValue("Bearer", token));

    public static MirrorCredential Basic(string userName, string password) =>
        new(new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(userName + ":" + password))), userName, password);

    internal AuthenticationHeaderValue Header => _header;

    /// <summary>Set for Basic credentials: a registry's token request and Basic challenge use them.</summary>
    internal string? UserName { get; }

    internal string? Password { get; }

    /// <summary>Never reveals the secret, whatever logs it.</summary>
    public override string ToString() => _header.Scheme + " ***";
}
