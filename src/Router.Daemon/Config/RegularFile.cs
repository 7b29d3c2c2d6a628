using System.Runtime.InteropServices;
using Router.Daemon.Interop;

namespace Router.Daemon.Config;

/// <summary>What reading a file gave: its bytes, or an error that names the path; <see cref="Missing"/> tells "no such file" apart.</summary>
internal readonly record struct RegularFileContent(byte[]? Bytes, string? Error, bool Missing, UnixFileMode Mode)
{
    public bool Ok => Bytes is not null;
}

/// <summary>
/// Reads every file routerd is given (router.json, the seed, key files, its state) bounded in size and time. A FIFO,
/// a device (a symlink to /dev/zero), a directory or a socket is refused by its type before a byte is read: the file is
/// opened with O_NONBLOCK (so opening a FIFO does not wait for a writer) and statx'd on the open descriptor (no race
/// with a rename). A regular file larger than the caller's limit is refused from its size, and the read stops at the
/// limit in case the file grows meanwhile. Symlinks to regular files are followed. Never throws for I/O reasons.
/// </summary>
internal static class RegularFile
{
    /// <param name="pinned">For secrets: the caller zeroes the array, and a pinned one is never copied by the GC.</param>
    public static RegularFileContent Read(string path, int maxBytes, bool pinned = false)
    {
        int fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_NOCTTY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            bool missing = errno is Libc.ENOENT or Libc.ENOTDIR;
            return new(null, missing ? $"{path}: does not exist" : $"{path}: cannot open: {Marshal.GetPInvokeErrorMessage(errno)}", missing, 0);
        }
        try
        {
            if (!Libc.Stat(fd, out uint mode, out long size))
                return new(null, $"{path}: cannot stat: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}", false, 0);
            var permissions = (UnixFileMode)(mode & 0xFFF);
            if ((mode & Libc.S_IFMT) != Libc.S_IFREG)
                return new(null, $"{path}: not a regular file ({TypeName(mode)})", false, permissions);
            if (size > maxBytes)
                return new(null, $"{path}: larger than {maxBytes} bytes ({size} bytes)", false, permissions);

            // Files in /proc and /sys say 0 bytes and still have content: read up to the limit, not up to the size.
            byte[] buffer = Allocate((int)Math.Min(Math.Max(size, 64) + 1, maxBytes + 1L), pinned);
            int length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length > maxBytes)
                    {
                        Clear(buffer, pinned);
                        return new(null, $"{path}: larger than {maxBytes} bytes (it grew while being read)", false, permissions);
                    }
                    byte[] larger = Allocate((int)Math.Min(buffer.Length * 2L, maxBytes + 1L), pinned);
                    buffer.AsSpan().CopyTo(larger);
                    Clear(buffer, pinned);
                    buffer = larger;
                }
                long n = Libc.Read(fd, buffer.AsSpan(length));
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.EINTR)
                        continue;
                    Clear(buffer, pinned);
                    return new(null, $"{path}: cannot read: {Marshal.GetPInvokeErrorMessage(errno)}", false, permissions);
                }
                if (n == 0)
                    break;
                length += (int)n;
            }
            if (length == buffer.Length)
                return new(buffer, null, false, permissions);
            byte[] exact = Allocate(length, pinned);
            buffer.AsSpan(0, length).CopyTo(exact);
            Clear(buffer, pinned);
            return new(exact, null, false, permissions);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private static byte[] Allocate(int length, bool pinned)
        => pinned ? GC.AllocateUninitializedArray<byte>(length, pinned: true) : new byte[length];

    private static void Clear(byte[] buffer, bool pinned)
    {
        if (pinned)
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(buffer);
    }

    private static string TypeName(uint mode) => (mode & Libc.S_IFMT) switch
    {
        Libc.S_IFIFO => "FIFO",
        Libc.S_IFDIR => "directory",
        Libc.S_IFCHR => "character device",
        Libc.S_IFBLK => "block device",
        Libc.S_IFSOCK => "socket",
        _ => $"type 0{Convert.ToString((mode & Libc.S_IFMT) >> 12, 8)}",
    };
}
