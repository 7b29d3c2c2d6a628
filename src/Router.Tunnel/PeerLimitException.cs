namespace Router.Tunnel;

/// <summary>A configuration would leave the device with more peers than <see cref="Device.PeerLimit"/>; nothing was applied.</summary>
public sealed class PeerLimitException(int requested, int limit)
    : InvalidOperationException($"{requested} peers requested, the limit is {limit} (ROUTERD_PEER_LIMIT)")
{
    public int Requested { get; } = requested;
    public int Limit { get; } = limit;
}
