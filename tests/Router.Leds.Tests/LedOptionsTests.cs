namespace Router.Leds.Tests;

/// <summary>What the daemon's validation reports, with the configuration path first.</summary>
public sealed class LedOptionsTests
{
    [Theory]
    [InlineData("act", LedTargetKind.OnBoard, "act")]
    [InlineData("PWR", LedTargetKind.OnBoard, "pwr")]
    [InlineData("led:led0", LedTargetKind.OnBoard, "led:led0")]
    [InlineData("none", LedTargetKind.None, "none")]
    [InlineData("gpio", LedTargetKind.SuggestedGpio, "gpio")]
    [InlineData("gpio17", LedTargetKind.Gpio, "gpio17")]
    [InlineData("gpio17:active-low", LedTargetKind.Gpio, "gpio17:active-low")]
    public void Status_text_forms_parse_and_print_back(string text, LedTargetKind kind, string printed)
    {
        Assert.True(LedTarget.TryParse(text, out LedTarget target));
        Assert.Equal(kind, target.Kind);
        Assert.Equal(printed, target.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("gpio-3")]
    [InlineData("gpioX")]
    [InlineData("led:../../etc")]
    [InlineData("led:")]
    [InlineData("blue")]
    public void Nonsense_does_not_parse(string text) => Assert.False(LedTarget.TryParse(text, out _));

    [Fact]
    public void The_design_example_is_valid()
    {
        var options = new LedOptions { Board = "rpi4b", Status = LedTarget.Act, Peers = [new PeerLed("hq", LedTarget.Gpio(17))] };
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Problems_name_their_configuration_path()
    {
        Assert.Equal(
            ["leds.board: unknown board 'rpi9'; expected one of: rpi3b, rpi3bplus, rpi4b, rpi400, rpi5, cm4, zero2w"],
            new LedOptions { Board = "rpi9" }.Validate());

        var options = new LedOptions
        {
            Board = "rpi3b",
            Status = LedTarget.Pwr,
            Peers =
            [
                new PeerLed("hq", LedTarget.Gpio(40)),
                new PeerLed("depot", LedTarget.Gpio(17)),
                new PeerLed("shop", LedTarget.Gpio(17)),
                new PeerLed("depot", LedTarget.Gpio(5)),
            ],
        };
        Assert.Equal(
            [
                "leds.status: board rpi3b has no PWR LED; expected act, a GPIO or led:NAME",
                "leds.peers.hq.gpio: GPIO 40 is not on the rpi3b header; expected 2..27 (BCM numbering, the \"GPIO17\" of pinout diagrams)",
                "leds.peers.shop.gpio: GPIO 17 is already used by leds.peers.depot; expected one LED per pin",
                "leds.peers.depot: listed twice",
            ],
            options.Validate());
    }

    [Fact]
    public void Suggested_peer_pins_are_handed_out_in_order_skipping_pins_in_use()
    {
        var options = new LedOptions
        {
            Board = "cm4",
            Status = LedTarget.SuggestedGpio(),
            Peers =
            [
                new PeerLed("a", LedTarget.Gpio(22)),
                new PeerLed("b", LedTarget.SuggestedGpio()),
                new PeerLed("c", LedTarget.SuggestedGpio()),
                new PeerLed("d", LedTarget.SuggestedGpio()),
                new PeerLed("e", LedTarget.SuggestedGpio()),
            ],
        };
        var errors = new List<string>();

        IReadOnlyList<LedBinding> bindings = options.Resolve(errors);

        Assert.Equal([17, 22, 27, 23, 24], bindings.Select(b => b.Pin));
        Assert.Equal(["leds.peers.e: board cm4 suggests only 4 peer pins; give this peer a \"gpio\""], errors);
    }

    [Fact]
    public void A_suggested_pin_skips_a_pin_named_later_in_the_list()
    {
        // docs/LEDS.md's example as the daemon hands it over (peers by name): "backup" { } before "depot" { "gpio": 27 }.
        var errors = new List<string>();
        IReadOnlyList<LedBinding> bindings = new LedOptions
        {
            Board = "rpi4b",
            Status = LedTarget.Act,
            Peers = [new PeerLed("backup", LedTarget.SuggestedGpio()), new PeerLed("depot", LedTarget.Gpio(27, activeLow: true)), new PeerLed("hq", LedTarget.Gpio(17))],
        }.Resolve(errors);

        Assert.Empty(errors);
        Assert.Equal([("backup", 22), ("depot", 27), ("hq", 17)], bindings.Where(b => b.Peer is not null).Select(b => (b.Peer!, b.Pin)));
    }

    [Fact]
    public void Act_and_pwr_resolve_to_the_board_led_names()
    {
        var errors = new List<string>();
        IReadOnlyList<LedBinding> bindings = new LedOptions
        {
            Board = "rpi4b",
            Status = LedTarget.Act,
            Peers = [new PeerLed("hq", LedTarget.Pwr)],
        }.Resolve(errors);

        Assert.Empty(errors);
        Assert.Equal(["ACT", "PWR"], bindings.Select(b => b.SysfsName));
        Assert.Equal([null, "hq"], bindings.Select(b => b.Peer));
    }

    [Fact]
    public void Invalid_options_are_logged_and_the_valid_leds_still_run()
    {
        var options = new LedOptions { Board = "rpi4b", Status = LedTarget.Gpio(99), Peers = [new PeerLed("hq", LedTarget.Gpio(27))] };
        using var h = new GpioHarness(options);

        h.Publish(Snapshots.One(Snapshots.Up(h.Clock.Now)), TimeSpan.FromSeconds(1));

        Assert.Single(h.Log, line => line.StartsWith("leds: ignored: leds.status: GPIO 99", StringComparison.Ordinal));
        Assert.True(h.Driver.LevelOf(27));
    }
}
