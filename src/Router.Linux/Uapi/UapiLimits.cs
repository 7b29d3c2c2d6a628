namespace Router.Linux.Uapi;

/// <summary>
/// What one UAPI socket lets its local clients hold. wg(8) opens a connection, sends one request at once, reads the
/// reply and hangs up within milliseconds; anything that sits on a connection is a stalled or abusive client.
/// </summary>
/// <param name="MaxConnections">Connections served at once; a newcomer beyond it replaces the longest-idle waiting
/// connection, or is closed at once when every connection is busy.</param>
/// <param name="IdleTimeout">A connection that makes no progress this long (no request, a request cut off midway,
/// a reply nobody reads) is closed. Time spent waiting for the device is not idle time.</param>
/// <param name="PhaseTimeout">Reading one request, or sending one reply, must end within this, however steadily the
/// bytes trickle: a client sending a byte every few seconds cannot hold a connection forever.</param>
public readonly record struct UapiLimits(int MaxConnections, TimeSpan IdleTimeout, TimeSpan PhaseTimeout)
{
    /// <summary>
    /// 64 connections, 10 s idle, 60 s per request or reply: far beyond what wg and wg-quick need (a 130,000-line
    /// setconf is read in well under a second), and ~5 MiB of buffers at most.
    /// </summary>
    public static UapiLimits Default => new(64, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60));
}
