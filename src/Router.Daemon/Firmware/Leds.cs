using System.Text.Json;
using Router.Daemon.Config;
using Router.Daemon.Hosting;
using Router.Leds;
using LedPeer = Router.Leds.PeerSnapshot;

namespace Router.Daemon.Firmware;

/// <summary>
/// The LED side of the firmware mode: builds a <see cref="LedController"/> from the configuration (or, while the
/// file is invalid, from whatever its "leds" section says, so the error state can still be shown) and turns engine
/// snapshots into <see cref="LinkSnapshot"/>s. An LED that cannot be driven is the controller's business: it logs
/// and never throws into the engine; this class also swallows anything else, so LEDs never stop a tunnel.
/// </summary>
internal sealed class Leds : IDisposable
{
    /// <summary>The board used when neither the configuration nor the device tree names one.</summary>
    public const string FallbackBoard = "rpi4b";

    private LedController? _controller;

    public void Configure(LedOptions? options)
    {
        var old = _controller;
        _controller = null;
        try
        {
            old?.Dispose();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.Error($"leds: stopping: {e.Message}");
        }
        if (options is null)
            return;
        try
        {
            _controller = new LedController(options, line => Log.Info(line));
            Log.Info($"leds: board {options.Board}, status {options.Status}, {options.Peers.Count} peer LED(s)");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.Error($"leds: disabled: {e.Message}");
        }
    }

    public void Publish(LinkSnapshot snapshot)
    {
        try
        {
            _controller?.Publish(snapshot);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.Verbose($"leds: {e.Message}");
        }
    }

    /// <summary>LED options from a validated configuration; null when it has no "leds" section.</summary>
    public static LedOptions? Options(LedsConfig? leds)
    {
        if (leds is null)
            return null;
        string board = leds.Board ?? DetectBoard();
        LedTarget byDefault = BoardProfiles.TryGet(board, out var profile) ? profile.DefaultStatus : LedTarget.Act;
        LedTarget status = byDefault;
        if (leds.Status is not null && !LedTarget.TryParse(leds.Status, out status))
        {
            Log.Error($"leds.status: '{leds.Status}' is not an LED; using the board's default");
            status = byDefault;
        }
        return new LedOptions
        {
            Board = board,
            Status = status,
            Peers = leds.Peers.Select(p => new PeerLed(p.Key, Target(p.Value))).ToArray(),
        };
    }

    /// <summary>A validated peer LED (LedsValidator): a GPIO, an on-board LED, or the board's next suggested pin.</summary>
    private static LedTarget Target(LedPinConfig pin)
    {
        if (pin.Led is string led && LedTarget.TryParse(led, out var onBoard))
            return onBoard;
        return pin.Gpio is int gpio ? LedTarget.Gpio(gpio, pin.ActiveLow) : LedTarget.SuggestedGpio(pin.ActiveLow);
    }

    /// <summary>Best effort for an invalid file: its "leds" board and status only, so the status LED can show the error.</summary>
    public static LedOptions? OptionsFromRaw(string path)
    {
        try
        {
            if (RegularFile.Read(path, ConfigLoader.MaxFileSize).Bytes is not byte[] json)
                return null;
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (!doc.RootElement.TryGetProperty("leds", out var leds) || leds.ValueKind != JsonValueKind.Object)
                return null;
            string? board = leds.TryGetProperty("board", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
            string? statusText = leds.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            board ??= DetectBoard();
            if (!BoardProfiles.TryGet(board, out var profile))
                return null;
            if (statusText is null || !LedTarget.TryParse(statusText, out var status))
                status = profile.DefaultStatus;
            return new LedOptions { Board = board, Status = status };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The board from the device tree's model string (a Pi says "Raspberry Pi 4 Model B Rev 1.4").</summary>
    public static string DetectBoard()
    {
        try
        {
            string model = RegularFile.Read("/proc/device-tree/model", 256).Bytes is byte[] text ? System.Text.Encoding.UTF8.GetString(text).TrimEnd('\0') : "";
            if (model.Contains("Zero 2", StringComparison.Ordinal))
                return "zero2w";
            if (model.Contains("Compute Module 4", StringComparison.Ordinal))
                return "cm4";
            if (model.Contains("Raspberry Pi 5", StringComparison.Ordinal))
                return "rpi5";
            if (model.Contains("Raspberry Pi 400", StringComparison.Ordinal))
                return "rpi400";
            if (model.Contains("Raspberry Pi 3 Model B Plus", StringComparison.Ordinal))
                return "rpi3bplus";
            if (model.Contains("Raspberry Pi 3", StringComparison.Ordinal))
                return "rpi3b";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return FallbackBoard;
    }

    /// <summary>A peer as the LED model sees it: wall-clock engine times moved onto the LED clock.</summary>
    public static LedPeer Peer(string name, Router.Tunnel.PeerSnapshot s, DateTime wallNow, TimeSpan monoNow)
    {
        TimeSpan? Mono(DateTime? wall) => wall is { } w ? monoNow - (wallNow - w) : null;
        return new LedPeer(name, Mono(s.LastHandshake), s.HandshakeAttempts, Mono(s.LastReceive), Mono(s.LastSend));
    }

    /// <summary>What the LEDs show while no valid configuration runs: the error state.</summary>
    public static LinkSnapshot ConfigError() => new([new TunnelSnapshot("config", InterfaceStatus.Missing, ConfigurationValid: false, [])]);

    public void Dispose() => Configure(null);
}
