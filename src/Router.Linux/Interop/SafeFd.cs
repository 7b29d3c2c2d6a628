using System.Runtime.InteropServices;

namespace Router.Linux.Interop;

/// <summary>
/// An owned file descriptor. The packet path takes a reference (DangerousAddRef) for each batch so Dispose from another
/// thread closes the descriptor only after the batch finished: no call ever lands on a reused descriptor number.
/// </summary>
internal sealed class SafeFd : SafeHandle
{
    public SafeFd(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The raw descriptor; only valid while a reference is held or the handle is known to be open.</summary>
    public int Fd => (int)handle.ToInt64();

    /// <summary>How long close(2) took, in Stopwatch ticks (0 until closed): for a TUN, the kernel deletes the interface inside it.</summary>
    public long CloseTicks { get; private set; }

    protected override bool ReleaseHandle()
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        bool closed = Libc.Close((int)handle.ToInt64()) == 0;
        CloseTicks = Math.Max(1, System.Diagnostics.Stopwatch.GetTimestamp() - start);
        return closed;
    }
}
