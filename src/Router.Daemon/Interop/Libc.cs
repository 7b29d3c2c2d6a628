using System.Runtime.InteropServices;

namespace Router.Daemon.Interop;

/// <summary>
/// The few libc calls the configuration side needs and .NET does not offer: statfs (is this a FAT mount?), fsync of a
/// directory (a rename is durable only once its directory is), clock_gettime for sd_notify's MONOTONIC_USEC, and
/// open(O_NONBLOCK) + statx + read for <see cref="Config.RegularFile"/> (.NET's File API blocks opening a FIFO).
/// Linux on 64-bit only (x86-64, ARM64), where these struct layouts hold (struct statx is the same on every arch).
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000; // the same on x86-64 and ARM64
    public const int O_NONBLOCK = 0x800;  // the same on x86-64 and ARM64
    public const int O_NOCTTY = 0x100;    // the same on x86-64 and ARM64

    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int ENOTDIR = 20;

    public const uint S_IFMT = 0xF000;
    public const uint S_IFIFO = 0x1000;
    public const uint S_IFCHR = 0x2000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFBLK = 0x6000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFSOCK = 0xC000;

    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_TYPE = 0x1, STATX_MODE = 0x2, STATX_SIZE = 0x200;

    public const int CLOCK_MONOTONIC = 1;

    /// <summary>umask 077: what the daemons create (sockets, keys, state) is the owner's alone from the first byte.</summary>
    public const uint OwnerOnlyUmask = 0x3F;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(Lib, EntryPoint = "statfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatFsNative(string path, byte* buffer);

    [LibraryImport(Lib, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Lib, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadNative(int fd, byte* buffer, nuint count);

    [LibraryImport(Lib, EntryPoint = "umask")]
    public static partial uint Umask(uint mask);

    [LibraryImport(Lib, EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clock, out Timespec time);

    /// <summary>The f_type magic of the filesystem holding <paramref name="path"/>, or null if statfs fails.</summary>
    public static long? FileSystemType(string path)
    {
        // struct statfs is 120 bytes on 64-bit Linux; f_type (a long) comes first.
        byte* buffer = stackalloc byte[256];
        if (StatFsNative(path, buffer) != 0)
            return null;
        return *(long*)buffer;
    }

    /// <summary>Type and permission bits (st_mode) and size of an open file; false with errno set if statx fails.</summary>
    public static bool Stat(int fd, out uint mode, out long size)
    {
        // struct statx (256 bytes): stx_mode is a u16 at offset 28, stx_size a u64 at offset 40.
        byte* buffer = stackalloc byte[256];
        if (StatxNative(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_SIZE, buffer) != 0)
        {
            mode = 0;
            size = 0;
            return false;
        }
        mode = *(ushort*)(buffer + 28);
        size = *(long*)(buffer + 40);
        return true;
    }

    /// <summary>read(2): bytes read, 0 at end of file, -1 with errno set.</summary>
    public static long Read(int fd, Span<byte> destination)
    {
        fixed (byte* p = destination)
            return ReadNative(fd, p, (nuint)destination.Length);
    }
}
