namespace Router.Linux.Uapi;

/// <summary>
/// The negative errno values a UAPI reply carries (wireguard-go ipc/uapi_unix.go): the wg tool prints strerror of them.
/// </summary>
public static class UapiErrno
{
    public const int Ok = 0;
    /// <summary>The request could not be read or written.</summary>
    public const int IO = -5;
    /// <summary>A line without '=' (wireguard-go's choice).</summary>
    public const int Protocol = -71;
    /// <summary>An unknown key or a malformed value (wireguard-go answers unknown keys with this too).</summary>
    public const int Invalid = -22;
    /// <summary>The listen port (or fwmark) could not be applied to the sockets.</summary>
    public const int PortInUse = -98;
    /// <summary>The set would exceed the peer limit (ENOSPC; wireguard-go refuses peers beyond MaxPeers).</summary>
    public const int NoSpace = -28;
    /// <summary>Anything else (wireguard-go uses -55, ENOANO).</summary>
    public const int Unknown = -55;
}
