namespace Router.Linux;

/// <summary>State changes of a <see cref="Tun"/> interface, as wireguard-go's tun.Event reports them.</summary>
public enum TunEvent
{
    Up,
    Down,
    MtuChanged,
    /// <summary>The interface moved to another network namespace (or back); it keeps working there.</summary>
    NamespaceChanged,
    /// <summary>The interface was deleted (ip link del): the daemon should shut down.</summary>
    Deleted,
}
