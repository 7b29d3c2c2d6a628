using System.Runtime.InteropServices;

namespace Router.Daemon.Interop;

/// <summary>
/// The few libc calls the configuration side needs and .NET does not offer: statfs (is this a FAT mount?), fsync of a
/// directory (a rename is durable only once its directory is), and clock_gettime for sd_notify's MONOTONIC_USEC.
/// Linux on 64-bit only (x86-64, ARM64), where these struct layouts hold.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000; // the same on x86-64 and ARM64

    public const int CLOCK_MONOTONIC = 1;

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
}
