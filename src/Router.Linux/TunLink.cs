using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;
using Router.Linux.Interop;

namespace Router.Linux;

/// <summary>
/// Finds a TUN interface wherever it is now. The descriptor knows: TUNGETIFF gives the current name and
/// TUNGETDEVNETNS the namespace the interface is in, so a rename or a move to another namespace
/// (<c>ip link set IFNAME netns OTHER</c>, the stock "WireGuard in a namespace" pattern) is followed, also onwards and
/// back. The link is then read by name through the creation namespace's rtnetlink socket, with IFLA_TARGET_NETNSID
/// when it is elsewhere (CAP_NET_ADMIN is enough; no setns, which would need CAP_SYS_ADMIN).
/// </summary>
/// <remarks>
/// Nothing is kept open in the other namespace (the namespace descriptor is closed at once): a socket there would keep
/// the namespace alive after <c>ip netns del</c>, and with it the interface, where the kernel's WireGuard and
/// wireguard-go let both go. Not thread-safe: the caller serializes.
/// </remarks>
internal sealed unsafe class TunLink
{
    /// <summary>Where the link is and how it is, as read by <see cref="Locate"/>.</summary>
    internal readonly record struct State(string Name, int Index, int Mtu, uint Flags, bool AtHome, int Nsid);

    private readonly (long Dev, long Ino) _home;
    // The last namespace seen away from home and its id there: the id lookup is done once per namespace.
    private (long Dev, long Ino) _awayIdentity;
    private int _awayNsid = Netlink.NETNSA_NSID_NOT_ASSIGNED;

    /// <summary>For a link created in the calling thread's namespace.</summary>
    internal TunLink() => _home = Identity("/proc/thread-self/ns/net");

    /// <summary>
    /// Reads the link behind <paramref name="tunFd"/> where it is now, through <paramref name="rtnetlink"/> (a socket
    /// of the creation namespace). Throws <see cref="Win32Exception"/> when the interface is gone.
    /// </summary>
    internal State Locate(int tunFd, Rtnetlink rtnetlink)
    {
        for (int attempt = 0; ; attempt++)
        {
            string name = CurrentName(tunFd);
            int nsFd = Libc.Ioctl(tunFd, TunIoctl.TUNGETDEVNETNS, null);
            if (nsFd < 0)
                throw OsError.Of(Marshal.GetLastPInvokeError(), "TUNGETDEVNETNS");
            int? nsid;
            try
            {
                var identity = Identity($"/proc/self/fd/{nsFd}");
                if (identity == _home)
                    nsid = null;
                else
                {
                    if (identity != _awayIdentity || _awayNsid == Netlink.NETNSA_NSID_NOT_ASSIGNED)
                    {
                        _awayNsid = rtnetlink.NamespaceId(nsFd);
                        _awayIdentity = identity;
                    }
                    nsid = _awayNsid;
                }
            }
            finally
            {
                Libc.Close(nsFd);
            }
            try
            {
                var (index, mtu, flags) = rtnetlink.GetLink(name, nsid);
                return new State(name, index, mtu, flags, nsid is null, nsid ?? Netlink.NETNSA_NSID_NOT_ASSIGNED);
            }
            catch (Win32Exception e) when (e.NativeErrorCode == Errno.ENODEV && attempt < 2)
            {
                // Renamed or moved between the ioctls and the lookup: ask the descriptor again.
                _awayNsid = Netlink.NETNSA_NSID_NOT_ASSIGNED;
            }
        }
    }

    private static string CurrentName(int tunFd)
    {
        var request = new TunIoctl.IfReq();
        if (Libc.Ioctl(tunFd, TunIoctl.TUNGETIFF, &request) != 0)
            throw OsError.Of(Marshal.GetLastPInvokeError(), "TUNGETIFF");
        return Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(request.Name));
    }

    /// <summary>(st_dev, st_ino) of a path: two namespace files name the same namespace when these match.</summary>
    private static (long, long) Identity(string path)
    {
        // st_dev and st_ino lead struct stat on every 64-bit Linux ABI; the rest is not read.
        byte* buffer = stackalloc byte[256];
        if (Libc.Stat(path, buffer) != 0)
            throw OsError.Of(Marshal.GetLastPInvokeError(), $"stat {path}");
        return (*(long*)buffer, *(long*)(buffer + 8));
    }
}
