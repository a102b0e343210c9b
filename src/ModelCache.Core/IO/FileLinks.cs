using System;
using System.ComponentModel;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelCache.IO;

/// <summary>
/// Symbolic links, which netstandard2.0 cannot make or read: the runtime's own API where it exists
/// (.NET 6+), else <c>readlink</c>/<c>symlink</c> on Unix and <c>CreateSymbolicLinkW</c> on Windows.
/// </summary>
internal static class FileLinks
{
    private const int AllowUnprivilegedCreate = 0x2;
    private static readonly PropertyInfo? LinkTargetProperty = typeof(FileSystemInfo).GetProperty("LinkTarget");

    /// <summary>The text a link holds (not resolved), or null when it is not a link or cannot be read here.</summary>
    public static string? ReadTarget(string path)
    {
        if (LinkTargetProperty is not null)
        {
            try
            {
                return (string?)LinkTargetProperty.GetValue(new FileInfo(path));
            }
            catch (TargetInvocationException ex) when (ex.InnerException is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        return RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? null : ReadLinkUnix(path);
    }

    /// <summary>
    /// Makes <paramref name="linkPath"/> a link holding <paramref name="relativeTarget"/> (with <c>/</c>
    /// separators). False when the OS refuses (Windows without Developer Mode, a file system without
    /// links), so the caller copies instead.
    /// </summary>
    public static bool TryCreate(string linkPath, string relativeTarget)
    {
        var target = relativeTarget.Replace('/', Path.DirectorySeparatorChar);
        try
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return CreateSymbolicLinkW(linkPath, target, AllowUnprivilegedCreate);
            }

            return symlink(target, linkPath) == 0;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException or Win32Exception)
        {
            return false;
        }
    }

    private static string? ReadLinkUnix(string path)
    {
        var buffer = new byte[4096];
        try
        {
            var length = readlink(path, buffer, (IntPtr)buffer.Length);
            var count = length.ToInt64();
            return count <= 0 || count >= buffer.Length ? null : Encoding.UTF8.GetString(buffer, 0, (int)count);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr readlink(string path, byte[] buffer, IntPtr size);

    [DllImport("libc", SetLastError = true)]
    private static extern int symlink(string target, string linkPath);

    [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.I1)]
    private static extern bool CreateSymbolicLinkW(string linkPath, string target, int flags);
}
