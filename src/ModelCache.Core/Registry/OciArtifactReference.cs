using System;
using System.Text.RegularExpressions;
using ModelCache.Errors;
using ModelCache.Transfer;

namespace ModelCache.Registry;

/// <summary>
/// An artifact in a registry: <c>oci://host[:port]/repository:tag</c> or <c>oci://host[:port]/repository@sha256:&lt;hex&gt;</c>.
/// Host, port, repository and the https/loopback rule are <see cref="OciReference"/>'s (one parser for them).
/// </summary>
public sealed class OciArtifactReference
{
    // The distribution spec's tag grammar.
    private static readonly Regex TagShape = new("^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$", RegexOptions.CultureInvariant);

    private OciArtifactReference(OciReference registry, string? tag, string? digest)
    {
        Registry = registry;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>The registry and repository.</summary>
    public OciReference Registry { get; }

    /// <summary>The tag, or null when the artifact is named by digest.</summary>
    public string? Tag { get; }

    /// <summary><c>sha256:&lt;hex&gt;</c>, or null when the artifact is named by tag.</summary>
    public string? Digest { get; }

    /// <summary>What goes after /manifests/ in the API: the digest when there is one, else the tag.</summary>
    public string ManifestReference => Digest ?? Tag!;

    /// <summary>The same artifact pinned to <paramref name="digest"/> (what a push prints, for an import that cannot be redirected by a moved tag).</summary>
    public OciArtifactReference WithDigest(string digest) => new(Registry, null, digest);

    public override string ToString() => Registry + (Digest is not null ? "@" + Digest : ":" + Tag);

    /// <exception cref="ModelCacheException">InvalidArtifactReference.</exception>
    public static OciArtifactReference Parse(string text)
    {
        var trimmed = (text ?? string.Empty).Trim();
        if (!OciReference.IsRegistry(trimmed))
        {
            throw Invalid(text ?? string.Empty, "it does not start with oci://");
        }

        var rest = trimmed.Substring(OciReference.Scheme.Length + 3);
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            throw Invalid(trimmed, "it names no repository");
        }

        var authority = rest.Substring(0, slash);
        var path = rest.Substring(slash + 1);
        string? tag = null, digest = null;
        var at = path.IndexOf('@');
        if (at >= 0)
        {
            digest = path.Substring(at + 1);
            path = path.Substring(0, at);
            if (!OciManifest.IsDigest(digest))
            {
                throw Invalid(trimmed, "the digest after @ must be sha256: followed by 64 lowercase hex digits");
            }
        }
        else
        {
            // The tag follows the last ':' of the last path segment (a port's ':' is in the authority).
            var lastSegment = path.LastIndexOf('/') + 1;
            var colon = path.IndexOf(':', lastSegment);
            if (colon < 0)
            {
                throw Invalid(trimmed, "it names no tag or digest (add :tag or @sha256:<digest>)");
            }

            tag = path.Substring(colon + 1);
            path = path.Substring(0, colon);
            if (!TagShape.IsMatch(tag))
            {
                throw Invalid(trimmed, "a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'");
            }
        }

        var registry = OciReference.Parse(OciReference.Scheme + "://" + authority + "/" + path, (_, why) => Invalid(trimmed, why));
        return new OciArtifactReference(registry, tag, digest);
    }

    private static ModelCacheException Invalid(string text, string why) =>
        new("InvalidArtifactReference", ModelCacheErrorKind.InvalidArgument,
            $"'{Shown(text)}' is not a registry artifact reference: {why}.",
            "Write it as oci://host[:port]/repository:tag or oci://host[:port]/repository@sha256:<digest>, for example oci://registry.example.com/models/bundle:2026-12 (https), or oci://127.0.0.1:5000/models:v1 for a registry on this machine (plain http).");

    // Never echo a password given as user info.
    private static string Shown(string text) => text.IndexOf('@') is var at && at >= 0 && text.IndexOf('/', text.IndexOf("://", StringComparison.Ordinal) + 3) is var slash && (slash < 0 || at < slash)
        ? OciReference.Scheme + "://…" : text;
}
