namespace Router.Leds.Tests;

/// <summary>
/// Each state change produces the pin sequence docs/LEDS.md documents: a status LED on GPIO17, driven
/// through a real GpioController and a recording driver, timed by a virtual clock.
/// </summary>
public sealed class PinSequenceTests
{
    private const int Pin = 17;

    [Fact]
    public void Before_any_snapshot_the_led_is_claimed_dark_and_nothing_wakes()
    {
        using var h = new GpioHarness(GpioHarness.StatusOn(Pin));
        TimeSpan start = h.Clock.Now;

        Assert.Null(h.Controller.RunOnce());
        h.RunUntil(TimeSpan.FromMinutes(5));

        Assert.Equal([(0.0, false)], h.WritesSince(start, Pin));
        Assert.Contains(Pin, h.Driver.OpenPins);
    }

    [Fact]
    public void Searching_is_a_slow_blink_starting_lit()
    {
        using var h = new GpioHarness(GpioHarness.StatusOn(Pin));
        h.RunUntil(TimeSpan.FromSeconds(1)); // claimed dark (down) before the engine publishes
        TimeSpan start = h.Clock.Now;

        h.Publish(Snapshots.One(Snapshots.Searching()), TimeSpan.FromMilliseconds(2000));

        Assert.Equal(
            [(0.0, true), (500, false), (1000, true), (1500, false), (2000, true)],
            h.WritesSince(start, Pin));
    }

    [Fact]
    public void Up_is_solid_and_costs_nothing_while_the_session_lives()
    {
        using var h = new GpioHarness(GpioHarness.StatusOn(Pin));
        h.RunUntil(TimeSpan.FromSeconds(1)); // claimed dark (down) before the engine publishes
        TimeSpan start = h.Clock.Now;

        LinkSnapshot up = Snapshots.One(Snapshots.Up(start));
        h.Controller.Publish(up);

        // The only wake-up asked for is the session's expiry, 180 s after the handshake.
        Assert.Equal(start + LinkStateModel.SessionLifetime, h.Controller.RunOnce());
        for (int tick = 0; tick < 100; tick++)
        {
            h.Clock.Now += TimeSpan.FromSeconds(1);
            h.Controller.Publish(up); // the engine publishes every tick; nothing changes, nothing is written
            h.Controller.RunOnce();
        }

        Assert.Equal([(0.0, true)], h.WritesSince(start, Pin));
    }

    [Fact]
    public void Traffic_flickers_then_settles_to_solid_one_second_after_the_last_packet()
    {
        using var h = new GpioHarness(GpioHarness.StatusOn(Pin));
        h.RunUntil(TimeSpan.FromSeconds(1)); // claimed dark (down) before the engine publishes
        TimeSpan start = h.Clock.Now;

        h.Publish(Snapshots.One(Snapshots.Traffic(start, lastPacket: start)), TimeSpan.FromMilliseconds(1500));

        Assert.Equal(
            [(0.0, true), (250, false), (300, true), (550, false), (600, true), (850, false), (900, true)],
            h.WritesSince(start, Pin));
        Assert.Equal(LinkState.Up, h.Controller.Channels[0].State);
    }

    [Fact]
    public void Error_is_a_fast_blink()
    {
        using var h = new GpioHarness(GpioHarness.StatusOn(Pin));
        h.RunUntil(TimeSpan.FromSeconds(1)); // claimed dark (down) before the engine publishes
        TimeSpan start = h.Clock.Now;

        h.Publish(Snapshots.One(Snapshots.Up(start), valid: false), TimeSpan.FromMilliseconds(400));

        Assert.Equal([(0.0, true), (100, false), (200, true), (300, false), (400, true)], h.WritesSince(start, Pin));
    }

    [Fact]
    public void Idle_is_a_short_blip_every_three_seconds()
    {
        using var h = new GpioHarness(GpioHarness.StatusOn(Pin));
        h.RunUntil(TimeSpan.FromSeconds(1)); // claimed dark (down) before the engine publishes
        TimeSpan start = h.Clock.Now;

        h.Publish(Snapshots.One(Snapshots.Idle()), TimeSpan.FromMilliseconds(6000));

        Assert.Equal([(0.0, true), (100, false), (3000, true), (3100, false), (6000, true)], h.WritesSince(start, Pin));
    }

    [Fact]
    public void Down_after_up_goes_dark_at_once()
    {
        using var h = new GpioHarness(GpioHarness.StatusOn(Pin));
        h.Publish(Snapshots.One(Snapshots.Up(h.Clock.Now)), TimeSpan.FromSeconds(1));
        TimeSpan start = h.Clock.Now;

        h.Publish(Snapshots.One(Snapshots.Up(start), InterfaceStatus.Missing), TimeSpan.FromSeconds(10));

        Assert.Equal([(0.0, false)], h.WritesSince(start, Pin));
    }

    [Fact]
    public void The_issue_scenario_searching_then_up_then_searching_again()
    {
        // The real handshake test (routerd + wireguard-go) will drive exactly this through the engine.
        using var h = new GpioHarness(GpioHarness.StatusOn(Pin));
        TimeSpan t0 = h.Clock.Now;
        h.Publish(Snapshots.One(Snapshots.Searching()), TimeSpan.FromMilliseconds(700));
        TimeSpan t1 = h.Clock.Now;
        h.Publish(Snapshots.One(Snapshots.Up(t1)), TimeSpan.FromSeconds(15));
        TimeSpan t2 = h.Clock.Now;
        h.Publish(Snapshots.One(new PeerSnapshot("hq", t1, 1, null, null)), TimeSpan.FromMilliseconds(600));

        Assert.Equal([(0.0, false), (0.0, true), (500, false)], h.WritesSince(t0, Pin).Where(w => w.Ms < 700));
        Assert.Equal([(0.0, true)], h.WritesSince(t1, Pin).Where(w => w.Ms < 15_000));
        Assert.Equal([(500, false)], h.WritesSince(t2, Pin));
        Assert.Equal(LinkState.Searching, h.Controller.Channels[0].State);
    }

    [Fact]
    public void Active_low_inverts_every_level()
    {
        using var h = new GpioHarness(GpioHarness.StatusOn(Pin, activeLow: true));
        TimeSpan start = h.Clock.Now;

        h.Publish(Snapshots.One(Snapshots.Searching()), TimeSpan.FromMilliseconds(1000));

        Assert.Equal([(0.0, true), (0.0, false), (500, true), (1000, false)], h.WritesSince(start, Pin));
        h.Controller.Dispose();
        Assert.True(h.Driver.LevelOf(Pin)); // released dark: high for an active-low LED
    }

    [Fact]
    public void Dispose_releases_the_pin_dark_and_the_controller()
    {
        var h = new GpioHarness(GpioHarness.StatusOn(Pin));
        h.Publish(Snapshots.One(Snapshots.Up(h.Clock.Now)), TimeSpan.FromSeconds(1));
        Assert.True(h.Driver.LevelOf(Pin));

        h.Dispose();

        Assert.False(h.Driver.LevelOf(Pin));
        Assert.Empty(h.Driver.OpenPins);
        Assert.True(h.Driver.Disposed);
        h.Dispose(); // twice is harmless
    }

    [Fact]
    public void Peer_leds_follow_their_own_peer()
    {
        var options = new LedOptions
        {
            Board = "rpi4b",
            Status = LedTarget.Gpio(Pin),
            Peers = [new PeerLed("hq", LedTarget.SuggestedGpio()), new PeerLed("depot", LedTarget.SuggestedGpio())],
        };
        using var h = new GpioHarness(options);
        TimeSpan start = h.Clock.Now;
        var snapshot = new LinkSnapshot([new TunnelSnapshot("wg0", InterfaceStatus.Present, true,
            [Snapshots.Up(start, "hq"), Snapshots.Searching("depot")])]);

        h.Publish(snapshot, TimeSpan.FromMilliseconds(500));

        Assert.Equal([(0.0, false), (0.0, true)], h.WritesSince(start, 27));                 // hq: first suggested pin, solid
        Assert.Equal([(0.0, false), (0.0, true), (500, false)], h.WritesSince(start, 22));   // depot: searching
        Assert.Equal([(0.0, false), (0.0, true), (500, false)], h.WritesSince(start, Pin));  // status: the worst, searching
    }
}
