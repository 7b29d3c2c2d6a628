namespace Router.Linux.Uapi;

/// <summary>
/// What one UAPI socket lets its local clients hold. wg(8) opens a connection, sends one request at once, reads the
/// reply and hangs up within milliseconds; anything that sits on a connection is a stalled or abusive client.
/// </summary>
/// <param name="MaxConnections">Connections served at once; a newcomer beyond it replaces the longest-idle waiting
/// connection, or is closed at once when every connection is busy.</param>
/// <param name="IdleTimeout">A connection that makes no progress this long (no request, a request cut off midway,
/// a reply nobody reads) is closed. Time spent waiting for the device is not idle time.</param>
public readonly record struct UapiLimits(int MaxConnections, TimeSpan IdleTimeout)
{
    /// <summary>64 connections, 10 s: far beyond what wg and wg-quick need, and ~5 MiB of buffers at most.</summary>
    public static UapiLimits Default => new(64, TimeSpan.FromSeconds(10));
}
