namespace Router.Tunnel;

// Probing a peer on demand: what a firmware-mode apply needs to check that a peer still answers.
public sealed partial class Device
{
    /// <summary>
    /// Sends a handshake initiation to the peer now, even while a session is live (as a rekey would), so that its
    /// answer proves the peer is reachable under the current settings. Rate-limited like every initiation (one per
    /// REKEY_TIMEOUT). False when there is no such peer, it has no endpoint, or the device has no identity or socket.
    /// </summary>
    public bool InitiateHandshake(PublicKey publicKey)
    {
        Outbox outbox = _configOutbox;
        bool sent;
        lock (_configLock)
        {
            lock (_lock)
            {
                Peer? peer = _peers.Find(publicKey);
                sent = peer is not null && peer.Endpoint.IsSet && _noise.HasIdentity && _bind is not null;
                if (sent)
                    SendInitiation(peer!, isRetry: false, _clock.Now, outbox);
            }
            Flush(outbox);
        }
        return sent;
    }
}
