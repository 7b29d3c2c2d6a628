namespace Router.Leds;

/// <summary>
/// The "leds" section of the configuration, already bound by the daemon:
/// "leds": { "board": "rpi4b", "status": "act", "peers": { "hq": { "gpio": 17 } } }.
/// </summary>
public sealed class LedOptions
{
    /// <summary>Lowest and highest BCM GPIO on the 40-pin header (0 and 1 are reserved for the HAT EEPROM).</summary>
    public const int FirstHeaderGpio = 2;

    /// <summary>Highest BCM GPIO on the 40-pin header.</summary>
    public const int LastHeaderGpio = 27;

    /// <summary>A profile name from <see cref="BoardProfiles"/>, e.g. "rpi4b".</summary>
    public required string Board { get; init; }

    /// <summary>The LED that shows the whole router; the on-board ACT LED unless configured otherwise.</summary>
    public LedTarget Status { get; init; } = LedTarget.Act;

    /// <summary>One LED per peer that should have one, in configuration order (suggested pins go in this order).</summary>
    public IReadOnlyList<PeerLed> Peers { get; init; } = [];

    /// <summary>
    /// Every problem with these options, each starting with its configuration path ("leds.peers.hq: ...");
    /// empty when valid. The daemon refuses the configuration when this is not empty.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Resolve(errors);
        return errors;
    }

    /// <summary>The concrete LEDs; problems go to <paramref name="errors"/> and their LEDs are left out.</summary>
    internal IReadOnlyList<LedBinding> Resolve(List<string> errors)
    {
        var bindings = new List<LedBinding>();
        if (!BoardProfiles.TryGet(Board ?? string.Empty, out BoardProfile board))
        {
            errors.Add($"leds.board: unknown board '{Board}' (known: {string.Join(", ", BoardProfiles.All.Select(b => b.Name))})");
            return bindings;
        }

        var usedPins = new HashSet<int>();
        var usedLeds = new HashSet<string>(StringComparer.Ordinal);
        int nextSuggestedPeerPin = 0;

        Add("leds.status", null, Status, board.StatusGpio);
        var seenPeers = new HashSet<string>(StringComparer.Ordinal);
        foreach (PeerLed peer in Peers)
        {
            string path = $"leds.peers.{peer.Peer}";
            if (string.IsNullOrWhiteSpace(peer.Peer))
            {
                errors.Add("leds.peers: a peer name is empty");
                continue;
            }

            if (!seenPeers.Add(peer.Peer))
            {
                errors.Add($"{path}: listed twice");
                continue;
            }

            int suggested = -1;
            if (peer.Target.Kind == LedTargetKind.SuggestedGpio)
            {
                while (nextSuggestedPeerPin < board.PeerGpios.Count && usedPins.Contains(board.PeerGpios[nextSuggestedPeerPin]))
                {
                    nextSuggestedPeerPin++;
                }

                if (nextSuggestedPeerPin == board.PeerGpios.Count)
                {
                    errors.Add($"{path}: board {board.Name} suggests only {board.PeerGpios.Count} peer pins; give this peer a \"gpio\"");
                    continue;
                }

                suggested = board.PeerGpios[nextSuggestedPeerPin++];
            }

            Add(path, peer.Peer, peer.Target, suggested);
        }

        return bindings;

        void Add(string path, string? peer, LedTarget target, int suggestedPin)
        {
            switch (target.Kind)
            {
                case LedTargetKind.None:
                    return;
                case LedTargetKind.Gpio or LedTargetKind.SuggestedGpio:
                    int pin = target.Kind == LedTargetKind.Gpio ? target.Pin : suggestedPin;
                    if (pin is < FirstHeaderGpio or > LastHeaderGpio)
                    {
                        errors.Add($"{path}: gpio {pin} is not a header GPIO ({FirstHeaderGpio}..{LastHeaderGpio}, BCM numbering)");
                    }
                    else if (!usedPins.Add(pin))
                    {
                        errors.Add($"{path}: gpio {pin} already shows something else");
                    }
                    else
                    {
                        bindings.Add(new LedBinding(peer, LedTargetKind.Gpio, pin, target.ActiveLow, null));
                    }

                    return;
                case LedTargetKind.OnBoard:
                    string? name = target.LedName switch
                    {
                        "act" => board.ActLed,
                        "pwr" => board.PwrLed,
                        _ => target.LedName,
                    };
                    if (name is null)
                    {
                        errors.Add($"{path}: board {board.Name} has no {target.LedName?.ToUpperInvariant()} LED");
                    }
                    else if (!usedLeds.Add(name))
                    {
                        errors.Add($"{path}: LED {name} already shows something else");
                    }
                    else
                    {
                        bindings.Add(new LedBinding(peer, LedTargetKind.OnBoard, 0, false, name));
                    }

                    return;
            }
        }
    }
}
