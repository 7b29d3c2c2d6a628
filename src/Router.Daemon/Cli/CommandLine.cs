namespace Router.Daemon.Cli;

/// <summary>
/// The one grammar for every verb and for the wireguard-go drop-in form that wg-quick uses:
/// <code>
/// routerd [--help | --version]
/// routerd [-f | --foreground] IFNAME          drop-in userspace WireGuard (as wireguard-go)
/// routerd [-f] -- IFNAME                      drop-in, even for an interface named like a verb
/// routerd VERB [OPTIONS] [ARGS]               a known verb wins over an interface name
/// </code>
/// Unknown options are a one-line error and exit status 2.
/// </summary>
internal static class CommandLine
{
    /// <summary>An option a verb accepts: its long name, an optional short alias and whether it takes a value.</summary>
    private readonly record struct OptionSpec(string Name, string? Short, bool TakesValue, string Help);

    /// <summary>A verb: its word, its options, how many positional arguments, and one line of help.</summary>
    private sealed record VerbSpec(string Word, Verb Verb, OptionSpec[] Options, int MaxArguments, string Usage, string Help);

    private static readonly OptionSpec ConfigOption = new("config", "c", true, "configuration file (default /etc/router/router.json)");

    private static readonly VerbSpec[] Verbs =
    [
        new("run", Verb.Run, [ConfigOption], 0, "run [--config PATH]", "firmware mode: bring up every interface in the configuration and keep it up"),
        new("check", Verb.Check, [ConfigOption], 1, "check [PATH]", "validate a configuration file, print every problem, exit non-zero if any"),
        new("apply", Verb.Apply, [ConfigOption, new("confirm", null, true, "roll back unless 'routerd confirm' arrives within SECONDS"),
                new("no-confirm", null, false, "no confirm window, even when the change cuts this SSH session's path"),
                new("dry-run", null, false, "print the changes and problems only: nothing is written or applied")], 1,
            "apply [FILE|-] [--confirm SECONDS | --no-confirm] [--dry-run]", "hand a configuration to the running daemon: validate, write atomically, apply, roll back if peers stop answering"),
        new("confirm", Verb.Confirm, [], 0, "confirm", "keep the configuration applied with 'apply --confirm'"),
        new("show", Verb.Show, [ConfigOption, new("json", null, false, "machine-readable output")], 1, "show [IFNAME] [--json]", "per peer: name, endpoint, last handshake, rx/tx, state"),
        new("peer", Verb.Peer,
            [
                ConfigOption,
                new("public-key", null, true, "add: the peer's public key (base64, as 'wg pubkey' prints)"),
                new("allowed-ips", null, true, "add: prefixes routed to the peer, comma-separated; export: what the far side routes here (default: this interface's prefixes)"),
                new("endpoint", null, true, "add: where the peer listens (host:port); export: this gateway's public address (host:port)"),
                new("keepalive", null, true, "add: seconds between keepalives to the peer; export: the far side's keepalive (for a phone behind NAT)"),
                new("preshared-key-file", null, true, "add: file holding a pre-shared key (mode 0600, as 'wg genpsk' writes)"),
                new("interface", "i", true, "add: the interface to add the peer to (needed when the file has several)"),
                new("confirm", null, true, "add, remove: roll back unless 'routerd confirm' arrives within SECONDS"),
                new("private-key-file", null, true, "export: the far side's own private key, if made here (else a placeholder it fills)"),
                new("qr", null, false, "export: print the file as a QR code for a phone's WireGuard app"),
            ], 2,
            "peer add|remove|export NAME ...", "add or remove a peer in router.json (validated, applied as 'apply'), or print the far side's wg-quick file"),
        new("genkey", Verb.GenKey, [], 0, "genkey", "print a new private key (base64), as wg genkey"),
        new("pubkey", Verb.PubKey, [], 0, "pubkey", "read a private key on stdin, print its public key, as wg pubkey"),
        new("genpsk", Verb.GenPsk, [], 0, "genpsk", "print a new pre-shared key, as wg genpsk"),
        new("import", Verb.Import, [new("output", "o", true, "where to write the JSON (default: stdout)")], 1,
            "import WG-QUICK.conf [-o FILE]", "convert a wg-quick configuration to JSON; keys go to 0600 files"),
        new("selftest", Verb.SelfTest, [], 0, "selftest", "run the crypto known-answer tests on the paths this CPU selects"),
        new("bench", Verb.Bench, [new("seconds", null, true, "seconds per primitive (default 1)")], 0, "bench [--seconds N]", "print MB/s per crypto primitive on this CPU"),
        new("help", Verb.Help, [], 1, "help [VERB]", "show help"),
    ];

    /// <summary>Parses the arguments; on failure returns null and a one-line error.</summary>
    public static ParsedCommand? Parse(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        bool foreground = false;
        int i = 0;

        // Leading global options: those of the drop-in form and --help/--version.
        for (; i < args.Count; i++)
        {
            string a = args[i];
            if (a is "-f" or "--foreground")
            {
                foreground = true;
                continue;
            }
            if (a is "-h" or "--help")
                return Simple(Verb.Help, args.Skip(i + 1).Take(1));
            if (a is "--version" or "-V")
                return Simple(Verb.Version, []);
            if (a == "--")
            {
                // Forced drop-in form: exactly one interface name follows.
                if (args.Count - i - 1 != 1)
                {
                    error = "'--' must be followed by exactly one interface name";
                    return null;
                }
                return DropIn(args[i + 1], foreground, out error);
            }
            if (a.StartsWith('-') && a != "-")
            {
                error = $"unknown option '{a}'";
                return null;
            }
            break;
        }

        if (i == args.Count)
        {
            if (foreground)
            {
                error = "-f needs an interface name";
                return null;
            }
            return Simple(Verb.Help, []);
        }

        string word = args[i];
        VerbSpec? spec = Find(word);
        if (spec is null)
        {
            // A word a typo away from a verb is almost surely that verb: starting a tunnel named "shwo" and
            // exiting 0 would hide the mistake. Interface names with digits (wg0, tun1) are never taken for typos.
            if (Suggest(word) is { } verb)
            {
                error = $"unknown verb '{word}': did you mean '{verb}'? (to name an interface '{word}': routerd -- {word})";
                return null;
            }
            // Any other bare word is an interface name; nothing may follow it.
            if (args.Count - i != 1)
            {
                error = $"unknown verb '{word}' (an interface name takes no further arguments)";
                return null;
            }
            return DropIn(word, foreground, out error);
        }
        if (foreground && spec.Verb != Verb.Run)
        {
            error = $"-f applies only to the drop-in form and to 'run', not to '{word}'";
            return null;
        }
        return ParseVerb(spec, args, i + 1, foreground, out error);
    }

    private static ParsedCommand? ParseVerb(VerbSpec spec, IReadOnlyList<string> args, int start, bool foreground, out string? error)
    {
        error = null;
        var positional = new List<string>();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        bool optionsEnded = false;
        for (int i = start; i < args.Count; i++)
        {
            string a = args[i];
            if (!optionsEnded && a == "--")
            {
                optionsEnded = true;
                continue;
            }
            if (optionsEnded || !a.StartsWith('-') || a == "-")
            {
                positional.Add(a);
                continue;
            }
            if (a is "-h" or "--help")
                return Simple(Verb.Help, [spec.Word]);

            string name = a;
            string? inlineValue = null;
            int eq = a.IndexOf('=');
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = a[..eq];
                inlineValue = a[(eq + 1)..];
            }
            OptionSpec? option = FindOption(spec, name);
            if (option is null)
            {
                error = $"unknown option '{name}' for '{spec.Word}'";
                return null;
            }
            OptionSpec o = option.Value;
            if (o.TakesValue)
            {
                if (inlineValue is null)
                {
                    if (i + 1 >= args.Count)
                    {
                        error = $"option '--{o.Name}' needs a value";
                        return null;
                    }
                    inlineValue = args[++i];
                }
                options[o.Name] = inlineValue;
            }
            else
            {
                if (inlineValue is not null)
                {
                    error = $"option '--{o.Name}' takes no value";
                    return null;
                }
                options[o.Name] = "";
            }
        }
        if (positional.Count > spec.MaxArguments)
        {
            error = $"too many arguments for '{spec.Word}' (usage: routerd {spec.Usage})";
            return null;
        }
        return new ParsedCommand(spec.Verb, null, foreground, positional, options);
    }

    private static ParsedCommand? DropIn(string name, bool foreground, out string? error)
    {
        // Linux interface names: 1..15 bytes, no '/', no whitespace, not "." or "..".
        if (name.Length is 0 or > 15 || name is "." or ".." || name.Any(c => c == '/' || c == ':' || char.IsWhiteSpace(c) || c > 127))
        {
            error = $"'{name}' is not a valid interface name (1-15 characters, no '/', ':' or spaces)";
            return null;
        }
        error = null;
        return new ParsedCommand(Verb.DropIn, name, foreground, [], new Dictionary<string, string>());
    }

    private static ParsedCommand Simple(Verb verb, IEnumerable<string> args)
        => new(verb, null, false, args.ToArray(), new Dictionary<string, string>());

    /// <summary>The verb <paramref name="word"/> is one edit from (two for verbs of seven letters or more), if any.</summary>
    private static string? Suggest(string word)
    {
        if (word.Any(char.IsDigit) || word.StartsWith('-'))
            return null;
        string lower = word.ToLowerInvariant();
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var v in Verbs)
        {
            int distance = EditDistance.Between(lower, v.Word);
            if (distance <= (v.Word.Length >= 7 ? 2 : 1) && distance < bestDistance)
                (best, bestDistance) = (v.Word, distance);
        }
        return best;
    }

    private static VerbSpec? Find(string word)
    {
        foreach (var v in Verbs)
            if (v.Word == word)
                return v;
        return null;
    }

    private static OptionSpec? FindOption(VerbSpec spec, string name)
    {
        foreach (var o in spec.Options)
            if ("--" + o.Name == name || (o.Short is not null && "-" + o.Short == name))
                return o;
        return null;
    }

    /// <summary>The full usage text, or one verb's.</summary>
    public static string Usage(string? verb = null)
    {
        var sb = new System.Text.StringBuilder();
        if (verb is not null && Find(verb) is { } one)
        {
            sb.Append("usage: routerd ").AppendLine(one.Usage).AppendLine().Append("  ").AppendLine(one.Help);
            foreach (var o in one.Options)
                sb.Append("  --").Append(o.Name).Append(o.Short is null ? "" : $", -{o.Short}").Append(o.TakesValue ? " VALUE" : "").Append("  ").AppendLine(o.Help);
            return sb.ToString();
        }
        sb.AppendLine("routerd: WireGuard-compatible VPN gateway for small routers")
          .AppendLine()
          .AppendLine("usage: routerd [-f|--foreground] IFNAME   userspace WireGuard for wg(8)/wg-quick(8), as wireguard-go")
          .AppendLine("       routerd [-f] -- IFNAME             the same, for an interface named like a verb")
          .AppendLine("       routerd VERB [OPTIONS] [ARGS]")
          .AppendLine("       routerd --version | --help")
          .AppendLine()
          .AppendLine("verbs:");
        foreach (var v in Verbs)
            sb.Append("  ").Append(v.Usage.PadRight(36)).Append(' ').AppendLine(v.Help);
        sb.AppendLine()
          .AppendLine("environment (docs/RUNNING.md has defaults and ranges):")
          .AppendLine("  WG_PROCESS_FOREGROUND=1              as -f")
          .AppendLine("  LOG_LEVEL=verbose|info|error|silent  how much goes to stderr (default info)")
          .AppendLine("  ROUTERD_CONFIG=PATH                  configuration when --config is not given (/etc/router/router.json)")
          .AppendLine("  ROUTERD_CONTROL_SOCKET=PATH          apply/confirm socket (/run/router/control.sock)")
          .AppendLine("  ROUTERD_STATUS_SOCKET=PATH           show socket (/run/router/status.sock)")
          .AppendLine("  ROUTERD_SEED=PATH|none               seed configuration to import on first start")
          .AppendLine("  ROUTERD_PROBE_TIMEOUT=SECONDS        how long peers get to answer after an apply (20)")
          .AppendLine("  ROUTERD_SSH_CONFIRM=SECONDS          confirm window of an apply over SSH that cuts the session's path (120)")
          .AppendLine("  ROUTERD_PEER_LIMIT=N                 most peers per interface (65536)")
          .AppendLine("  ROUTERD_UDP_OFFLOAD=0, ROUTERD_TUN_OFFLOAD=0   turn the kernel offloads off")
          .AppendLine("  ROUTERD_PIPELINE_DROP=0|1, ROUTERD_PIPELINE_BYTES=N, ROUTERD_PIPELINE_BATCHES=N   engine pipeline tuning")
          .AppendLine("  ROUTERD_MEMORY_LOG=SECONDS           a heap summary line on stderr every SECONDS");
        return sb.ToString();
    }
}
