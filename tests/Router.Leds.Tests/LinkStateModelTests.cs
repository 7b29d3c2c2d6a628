namespace Router.Leds.Tests;

/// <summary>The precedence table: error &gt; down &gt; searching &gt; traffic &gt; up &gt; idle.</summary>
public sealed class LinkStateModelTests
{
    private static readonly TimeSpan Now = TimeSpan.FromSeconds(1000);

    public static TheoryData<string, InterfaceStatus, bool, int, double?, double?, LinkState> Rows => new()
    {
        // name, interface, config valid, unanswered handshakes, handshake age s, packet age s, expected
        { "nothing happened yet", InterfaceStatus.Present, true, 0, null, null, LinkState.Idle },
        { "fresh keypair", InterfaceStatus.Present, true, 0, 0, null, LinkState.Up },
        { "keypair 179.9 s old", InterfaceStatus.Present, true, 0, 179.9, null, LinkState.Up },
        { "keypair exactly 180 s old is expired", InterfaceStatus.Present, true, 0, 180, null, LinkState.Idle },
        { "packet 0.5 s ago", InterfaceStatus.Present, true, 0, 10, 0.5, LinkState.Traffic },
        { "packet exactly 1 s ago is not traffic", InterfaceStatus.Present, true, 0, 10, 1, LinkState.Up },
        { "traffic beats up", InterfaceStatus.Present, true, 0, 0, 0, LinkState.Traffic },
        { "packets without any handshake are not traffic", InterfaceStatus.Present, true, 0, null, 0.5, LinkState.Idle },
        { "packets after the session expired are not traffic", InterfaceStatus.Present, true, 0, 180, 0, LinkState.Idle },
        { "searching beats traffic", InterfaceStatus.Present, true, 1, 10, 0, LinkState.Searching },
        { "searching without any session", InterfaceStatus.Present, true, 3, null, null, LinkState.Searching },
        { "down beats searching", InterfaceStatus.Missing, true, 1, 10, 0, LinkState.Down },
        { "down when the interface is missing", InterfaceStatus.Missing, true, 0, null, null, LinkState.Down },
        { "error beats down (invalid configuration)", InterfaceStatus.Missing, false, 1, 0, 0, LinkState.Error },
        { "error when the interface was lost", InterfaceStatus.Lost, true, 0, 0, 0, LinkState.Error },
        { "error for invalid configuration on a live tunnel", InterfaceStatus.Present, false, 0, 0, 0, LinkState.Error },
        { "a timestamp from the future counts as now", InterfaceStatus.Present, true, 0, -0.1, null, LinkState.Up },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Peer_state_follows_the_precedence_table(
        string name, InterfaceStatus status, bool valid, int unanswered, double? handshakeAge, double? packetAge, LinkState expected)
    {
        var peer = new PeerSnapshot("hq", Ago(handshakeAge), unanswered, Ago(packetAge), null);
        var tunnel = new TunnelSnapshot("wg0", status, valid, [peer]);

        Assert.True(expected == LinkStateModel.Evaluate(tunnel, peer, Now), name);
        Assert.Equal(expected, LinkStateModel.EvaluatePeer(new LinkSnapshot([tunnel]), "hq", Now));
    }

    [Fact]
    public void Sent_packets_alone_count_as_traffic()
    {
        var peer = new PeerSnapshot("hq", Now, 0, null, Now - TimeSpan.FromMilliseconds(10));
        Assert.Equal(LinkState.Traffic, LinkStateModel.Evaluate(Snapshots.One(peer).Tunnels[0], peer, Now));
    }

    [Fact]
    public void Tunnel_and_status_show_the_worst_peer()
    {
        var tunnel = new TunnelSnapshot("wg0", InterfaceStatus.Present, true,
            [Snapshots.Up(Now, "a"), Snapshots.Searching("b"), Snapshots.Idle("c")]);
        var other = new TunnelSnapshot("wg1", InterfaceStatus.Present, true, [Snapshots.Traffic(Now, Now, "d")]);

        Assert.Equal(LinkState.Searching, LinkStateModel.Evaluate(tunnel, Now));
        Assert.Equal(LinkState.Traffic, LinkStateModel.Evaluate(other, Now));
        Assert.Equal(LinkState.Searching, LinkStateModel.EvaluateAll(new LinkSnapshot([tunnel, other]), Now));
    }

    [Fact]
    public void A_tunnel_without_peers_is_idle_and_no_tunnel_is_down()
    {
        var empty = new TunnelSnapshot("wg0", InterfaceStatus.Present, true, []);
        Assert.Equal(LinkState.Idle, LinkStateModel.Evaluate(empty, Now));
        Assert.Equal(LinkState.Down, LinkStateModel.EvaluateAll(LinkSnapshot.Empty, Now));
    }

    [Fact]
    public void An_unknown_peer_is_down()
    {
        Assert.Equal(LinkState.Down, LinkStateModel.EvaluatePeer(Snapshots.One(Snapshots.Up(Now)), "branch-7", Now));
    }

    [Fact]
    public void Next_change_is_the_earliest_expiry_still_ahead()
    {
        var peer = new PeerSnapshot("hq", Now - TimeSpan.FromSeconds(100), 0, Now - TimeSpan.FromMilliseconds(300), null);
        LinkSnapshot snapshot = Snapshots.One(peer);

        // Traffic fades 1 s after the last packet, then the session expires 180 s after the handshake.
        Assert.Equal(Now + TimeSpan.FromMilliseconds(700), LinkStateModel.NextChange(snapshot, Now));
        Assert.Equal(Now + TimeSpan.FromSeconds(80), LinkStateModel.NextChange(snapshot, Now + TimeSpan.FromSeconds(1)));
        Assert.Null(LinkStateModel.NextChange(snapshot, Now + TimeSpan.FromSeconds(80)));
        Assert.Null(LinkStateModel.NextChange(Snapshots.One(Snapshots.Searching()), Now));
    }

    private static TimeSpan? Ago(double? seconds) => seconds is { } s ? Now - TimeSpan.FromSeconds(s) : null;
}
