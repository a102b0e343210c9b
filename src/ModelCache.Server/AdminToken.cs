using System;
using System.Security.Cryptography;
using System.Text;
using ModelCache.Errors;

namespace ModelCache.Server;

/// <summary>
/// The admin API's bearer token. Only its SHA-256 is kept, and a presented token is compared by hash in constant
/// time: equal-length digests and a loop that never exits early, so response times tell nothing about the token.
/// </summary>
public sealed class AdminToken
{
    /// <summary>Shorter tokens are refused: a guessable token is no protection.</summary>
    public const int MinLength = 16;

    private readonly byte[] _digest;

    private AdminToken(byte[] digest)
    {
        _digest = digest;
    }

    /// <exception cref="ModelCacheException">AdminTokenTooShort.</exception>
    public static AdminToken FromString(string token)
    {
        if (token is null || token.Length < MinLength)
        {
            throw new ModelCacheException("AdminTokenTooShort", ModelCacheErrorKind.InvalidArgument,
                $"The admin token must be at least {MinLength} characters long.",
                "Generate one with a cryptographic generator, e.g. in PowerShell (5.1 and 7): $b = [byte[]]::new(32); [Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($b); [Convert]::ToBase64String($b) — or: openssl rand -base64 32. Keep it in a secret store.");
        }

        return new AdminToken(Digest(token));
    }

    /// <summary>True when <paramref name="authorization"/> is <c>Bearer &lt;this token&gt;</c>.</summary>
    public bool Matches(string? authorization)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = Digest(authorization.Substring(scheme.Length).Trim());
        var difference = 0;
        for (var i = 0; i < _digest.Length; i++)
        {
            difference |= _digest[i] ^ presented[i];
        }

        return difference == 0;
    }

    private static byte[] Digest(string token)
    {
        using var sha = SHA256.Create();
        return sha.ComputeHash(Encoding.UTF8.GetBytes(token));
    }
}
