using Router.Leds;

namespace Router.Daemon.Config;

/// <summary>
/// The "leds" section, checked against the board profile it names (or, without "board", the board routerd runs on,
/// as the daemon would pick it): the board must be known, the status LED and every peer's LED must parse, exist on
/// that board (a Pi 3 has no PWR LED) and sit on a header GPIO, and no pin or on-board LED may show two things. Every
/// form docs/LEDS.md documents is accepted (a test runs each of its examples through 'routerd check'). Problems name
/// the JSON path of the value at fault and what is allowed there.
/// </summary>
internal static class LedsValidator
{
    private const string StatusForms = "act, pwr, none, gpio (the board's suggested pin), gpioN, gpioN:active-low or led:NAME";

    public static LedsConfig? Build(LedsSection? s, IReadOnlyDictionary<string, string> peerNames, List<ConfigProblem> problems)
    {
        if (s is null)
            return null;
        // The schema walk has already reported a wrong type or range here: the board's rules would say it again.
        bool walkedClean = !problems.Any(p => p.IsError && p.Path.StartsWith("leds", StringComparison.Ordinal));
        bool boardNamed = s.Board is null || s.Board.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
        if (!boardNamed)
            problems.Add(ConfigProblem.Error("leds.board", $"'{s.Board}' is not a board profile name; expected one of: {string.Join(", ", BoardProfiles.All.Select(b => b.Name))}"));

        bool parsed = true;
        LedTarget status = BoardProfiles.TryGet(s.Board ?? Firmware.Leds.DetectBoard(), out var profile) ? profile.DefaultStatus : LedTarget.Act;
        if (s.Status is not null && !LedTarget.TryParse(s.Status, out status))
        {
            problems.Add(ConfigProblem.Error("leds.status", $"'{s.Status}' is not an LED; expected {StatusForms}"));
            parsed = false;
        }

        var pins = new Dictionary<string, LedPinConfig>(StringComparer.Ordinal);
        var peers = new List<PeerLed>();
        foreach (var (name, pin) in s.Peers ?? [])
        {
            string path = $"leds.peers.{name}";
            if (!peerNames.ContainsKey(name))
                problems.Add(ConfigProblem.Error(path, $"no peer is named '{name}'; expected the name of a peer in interfaces.*.peers"));
            if (Target(path, pin, problems) is not LedTarget target)
            {
                parsed = false;
                continue;
            }
            peers.Add(new PeerLed(name, target));
            pins[name] = new LedPinConfig(pin.Gpio, pin.ActiveLow ?? false, pin.Led);
        }

        // The board's own rules: only when every LED parsed, so one mistake is not reported twice.
        if (walkedClean && boardNamed && parsed)
        {
            var options = new LedOptions { Board = s.Board ?? Firmware.Leds.DetectBoard(), Status = status, Peers = peers };
            foreach (string problem in options.Validate())
            {
                int colon = problem.IndexOf(": ", StringComparison.Ordinal);
                problems.Add(colon < 0 ? ConfigProblem.Error("leds", problem) : ConfigProblem.Error(problem[..colon], problem[(colon + 2)..]));
            }
        }
        return new LedsConfig(s.Board, s.Status, pins);
    }

    /// <summary>A peer's LED: { "gpio": N [, "activeLow": true] }, { "led": "act" | "pwr" | "led:NAME" }, or { } for the next suggested pin.</summary>
    private static LedTarget? Target(string path, LedPinSection pin, List<ConfigProblem> problems)
    {
        if (pin.Led is not string led)
            return pin.Gpio is int gpio ? LedTarget.Gpio(gpio, pin.ActiveLow ?? false) : LedTarget.SuggestedGpio(pin.ActiveLow ?? false);
        bool ok = true;
        if (pin.Gpio is not null)
        {
            problems.Add(ConfigProblem.Error(path, "has both \"gpio\" and \"led\"; expected one of them (or neither, for the board's next suggested pin)"));
            ok = false;
        }
        if (pin.ActiveLow is true)
        {
            problems.Add(ConfigProblem.Error($"{path}.activeLow", "applies to a GPIO LED only; expected it with \"gpio\" (an on-board LED's polarity is the kernel's)"));
            ok = false;
        }
        bool onBoard = led.Equals("act", StringComparison.OrdinalIgnoreCase) || led.Equals("pwr", StringComparison.OrdinalIgnoreCase)
                       || led.StartsWith("led:", StringComparison.OrdinalIgnoreCase);
        if (!onBoard || !LedTarget.TryParse(led, out var target))
        {
            problems.Add(ConfigProblem.Error($"{path}.led", $"'{led}' is not an on-board LED; expected \"act\", \"pwr\" or \"led:NAME\" (a directory under /sys/class/leds); a GPIO LED is given as \"gpio\": N"));
            return null;
        }
        return ok ? target : null;
    }
}
