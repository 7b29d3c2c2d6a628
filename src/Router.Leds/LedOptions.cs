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

    /// <summary>
    /// One LED per peer that should have one; suggested pins go in this order (the daemon's is by peer name: the
    /// configuration binder sorts a section's keys), skipping every pin named explicitly.
    /// </summary>
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

    /// <summary>
    /// The concrete LEDs; problems go to <paramref name="errors"/> and their LEDs are left out. Each problem starts with
    /// the JSON path of the value at fault: "leds.status", or "leds.peers.NAME.gpio" / ".led" for a peer's field.
    /// </summary>
    internal IReadOnlyList<LedBinding> Resolve(List<string> errors)
    {
        var bindings = new List<LedBinding>();
        if (!BoardProfiles.TryGet(Board ?? string.Empty, out BoardProfile board))
        {
            errors.Add($"leds.board: unknown board '{Board}'; expected one of: {string.Join(", ", BoardProfiles.All.Select(b => b.Name))}");
            return bindings;
        }

        var usedPins = new Dictionary<int, string>();
        var usedLeds = new Dictionary<string, string>(StringComparer.Ordinal);
        int nextSuggestedPeerPin = 0;
        // A suggested pin skips every pin named explicitly, wherever it is listed: the configuration binder hands peers
        // over in name order, not in the file's order, so "already used" must not depend on the order.
        var explicitPins = Peers.Where(p => p.Target.Kind == LedTargetKind.Gpio).Select(p => p.Target.Pin)
            .Append(Status.Kind == LedTargetKind.Gpio ? Status.Pin : -1).ToHashSet();

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
                while (nextSuggestedPeerPin < board.PeerGpios.Count
                       && (usedPins.ContainsKey(board.PeerGpios[nextSuggestedPeerPin]) || explicitPins.Contains(board.PeerGpios[nextSuggestedPeerPin])))
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

        void Add(string owner, string? peer, LedTarget target, int suggestedPin)
        {
            switch (target.Kind)
            {
                case LedTargetKind.None:
                    return;
                case LedTargetKind.Gpio or LedTargetKind.SuggestedGpio:
                    int pin = target.Kind == LedTargetKind.Gpio ? target.Pin : suggestedPin;
                    // A peer's pin is its "gpio" field (or, suggested, the peer's object); the status LED is one string.
                    string path = peer is not null && target.Kind == LedTargetKind.Gpio ? owner + ".gpio" : owner;
                    if (pin is < FirstHeaderGpio or > LastHeaderGpio)
                    {
                        errors.Add($"{path}: GPIO {pin} is not on the {board.Name} header; expected {FirstHeaderGpio}..{LastHeaderGpio} (BCM numbering, the \"GPIO17\" of pinout diagrams)");
                    }
                    else if (usedPins.TryGetValue(pin, out string? other))
                    {
                        errors.Add($"{path}: GPIO {pin} is already used by {other}; expected one LED per pin");
                    }
                    else
                    {
                        usedPins[pin] = owner;
                        bindings.Add(new LedBinding(peer, LedTargetKind.Gpio, pin, target.ActiveLow, null));
                    }

                    return;
                case LedTargetKind.OnBoard:
                    string ledPath = peer is not null ? owner + ".led" : owner;
                    string? name = target.LedName switch
                    {
                        "act" => board.ActLed,
                        "pwr" => board.PwrLed,
                        _ => target.LedName,
                    };
                    if (name is null)
                    {
                        string has = string.Join(", ", new[] { board.ActLed is null ? null : "act", board.PwrLed is null ? null : "pwr" }.Where(n => n is not null));
                        errors.Add($"{ledPath}: board {board.Name} has no {target.LedName?.ToUpperInvariant()} LED; expected {(has.Length > 0 ? has + ", " : "")}a GPIO or led:NAME");
                    }
                    else if (usedLeds.TryGetValue(name, out string? other))
                    {
                        errors.Add($"{ledPath}: LED {name} is already used by {other}; expected one thing per LED");
                    }
                    else
                    {
                        usedLeds[name] = owner;
                        bindings.Add(new LedBinding(peer, LedTargetKind.OnBoard, 0, false, name));
                    }

                    return;
            }
        }
    }
}
