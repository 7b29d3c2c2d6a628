namespace Router.Daemon.Tests.Interop;

/// <summary>A theory that needs root (namespaces, TUN, /var/run/wireguard); skipped with the reason otherwise.</summary>
internal sealed class RootTheoryAttribute : TheoryAttribute
{
    public RootTheoryAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
            Skip = "needs root: creates network namespaces, TUN devices and /var/run/wireguard sockets";
        else if (!File.Exists("/dev/net/tun"))
            Skip = "needs /dev/net/tun";
    }
}
