namespace Router.Linux.Interop;

/// <summary>The errno values this layer tells apart (asm-generic/errno-base.h, asm-generic/errno.h).</summary>
internal static class Errno
{
    internal const int ENOENT = 2;
    internal const int EINTR = 4;
    internal const int EIO = 5;
    internal const int EAGAIN = 11;
    internal const int EEXIST = 17;
    internal const int ENODEV = 19;
    internal const int EINVAL = 22;
    internal const int EPROTO = 71;
    internal const int EBADFD = 77;
    internal const int EMSGSIZE = 90;
    internal const int EADDRINUSE = 98;
    internal const int EADDRNOTAVAIL = 99;
    internal const int ENETUNREACH = 101;
    internal const int ENOBUFS = 105;
    internal const int ECONNREFUSED = 111;
}
