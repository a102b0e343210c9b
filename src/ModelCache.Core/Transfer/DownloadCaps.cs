namespace ModelCache.Transfer;

/// <summary>
/// Bounds every download before its first byte: the catalog size when known; else the size the server declares
/// (refused above <see cref="NetworkOptions.MaxDownloadSize"/>); else the smaller of that limit and the free disk space.
/// A known size is also checked against the free space, so a download that cannot fit fails at once.
/// </summary>
internal static class DownloadCaps
{
    private const string DifferentFile = "The source serves a different file: check the mirror's copy, or update the catalog entry if upstream changed the file.";

    /// <param name="subject">What is downloaded, for messages.</param>
    /// <param name="partialPath">The file being written (its volume is checked for space).</param>
    /// <param name="offset">Bytes already held (a resume).</param>
    /// <param name="trustedSize">The catalog's size, when it has one.</param>
    /// <param name="declaredSize">The source's Content-Length (or hub size), when it sent one.</param>
    /// <param name="location">Where the bytes come from, for messages.</param>
    /// <param name="network">The download limit, rate rules and file-system calls.</param>
    public static CopyLimits For(string subject, string partialPath, long offset, long? trustedSize, long? declaredSize, string location, NetworkOptions network)
    {
        if (trustedSize is { } size)
        {
            EnsureSpace(partialPath, size - offset, network);
            return new CopyLimits(size, $"the size the catalog gives for {subject}", DifferentFile, network);
        }

        if (declaredSize is { } declared)
        {
            if (declared > network.MaxDownloadSize)
            {
                throw TransferException.DeclaredTooLong(location, subject, declared, network.MaxDownloadSize);
            }

            EnsureSpace(partialPath, declared - offset, network);
            return new CopyLimits(declared, $"the size it announced for {subject}", DifferentFile, network);
        }

        if (network.FileSystem.GetAvailableFreeSpace(partialPath) is { } free && offset + free < network.MaxDownloadSize)
        {
            return new CopyLimits(offset + free, $"the free disk space, and {subject} has no size in the catalog and was sent without Content-Length",
                "Free disk space or choose another cache root with -CachePath; if the server sends an endless body, check the mirror or URL.", network);
        }

        return new CopyLimits(network.MaxDownloadSize,
            $"the download limit (-MaxDownloadSize), and {subject} has no size in the catalog and was sent without Content-Length",
            "If the model really is that large, raise -MaxDownloadSize; otherwise the server sends an endless or wrong body: check the mirror or URL.", network);
    }

    /// <summary>Fails with InsufficientDiskSpace when the volume holding <paramref name="path"/> has less than <paramref name="needed"/> bytes free.</summary>
    public static void EnsureSpace(string path, long needed, NetworkOptions network)
    {
        if (needed > 0 && network.FileSystem.GetAvailableFreeSpace(path) is { } free && free < needed)
        {
            throw TransferException.InsufficientDiskSpace(path, needed, free);
        }
    }
}
