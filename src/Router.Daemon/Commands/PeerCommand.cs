using System.Globalization;
using Router.Daemon.Cli;
using Router.Daemon.Config;

namespace Router.Daemon.Commands;

/// <summary>
/// <c>routerd peer add|remove|export</c>: peers without editing JSON by hand. add and remove edit router.json as text
/// (<see cref="PeerEdit"/>: comments and layout stay), validate the result exactly as 'check' does, and hand it to
/// the running daemon as 'routerd apply' would (atomic write, router.json.prev, only the difference applied, rollback,
/// --confirm); with no daemon running they write the file atomically themselves. On any error nothing is written.
/// export prints the far side's wg-quick file, or its QR code.
/// </summary>
internal static class PeerCommand
{
    public static readonly string[] Subcommands = ["add", "remove", "export"];

    /// <param name="socketPath">The daemon's control socket (default: ROUTERD_CONTROL_SOCKET or /run/router/control.sock).</param>
    public static int Run(ParsedCommand command, TextWriter output, TextWriter error, IKeyFileSource? keyFiles = null, string? socketPath = null)
    {
        string socket = socketPath ?? Firmware.FirmwarePaths.ControlSocket;
        if (command.Arguments.Count == 0)
        {
            error.WriteLine("routerd: peer needs add, remove or export (try 'routerd peer --help')");
            return Program.UsageError;
        }
        string sub = command.Arguments[0];
        if (!Subcommands.Contains(sub))
        {
            string? near = Subcommands.FirstOrDefault(s => EditDistance.Between(sub, s) <= 2);
            error.WriteLine($"routerd: unknown peer command '{sub}'{(near is null ? "" : $": did you mean '{near}'?")} (expected add, remove or export)");
            return Program.UsageError;
        }
        if (command.Arguments.Count < 2)
        {
            error.WriteLine($"routerd: peer {sub} needs the peer's name, e.g. 'routerd peer {sub} branch2' (try 'routerd peer --help')");
            return Program.UsageError;
        }
        string name = command.Arguments[1];
        string? misplaced = MisplacedOption(sub, command);
        if (misplaced is not null)
        {
            error.WriteLine($"routerd: --{misplaced} does not apply to 'peer {sub}' (try 'routerd peer --help')");
            return Program.UsageError;
        }

        string path = Firmware.FirmwarePaths.Config(command.Option("config"));
        var file = RegularFile.Read(path, ConfigLoader.MaxFileSize);
        if (!file.Ok)
        {
            error.WriteLine($"routerd: {file.Error}");
            return 1;
        }
        byte[] current = file.Bytes!;
        // The file must be valid before the edit, so every error after it is about this edit.
        var before = ConfigLoader.Parse(current, keyFiles);
        using var beforeConfig = before.Config;
        if (before.HasErrors)
        {
            foreach (var p in before.Problems.Where(p => p.IsError))
                error.WriteLine(p);
            error.WriteLine($"routerd: {path} does not pass 'routerd check' as it is; fix it first. Nothing changed.");
            return 1;
        }
        return sub switch
        {
            "add" => Add(command, name, path, current, output, error, keyFiles, socket),
            "remove" => Remove(command, name, path, current, output, error, keyFiles, socket),
            _ => Export(command, name, beforeConfig!, output, error, keyFiles ?? KeyFile.System),
        };
    }

    private static readonly string[] AddOnly = ["public-key", "preshared-key-file", "interface"];
    private static readonly string[] AddOrRemove = ["confirm"];
    private static readonly string[] ExportOnly = ["qr", "private-key-file"];

    private static string? MisplacedOption(string sub, ParsedCommand command)
    {
        IEnumerable<string> refused = sub switch
        {
            "add" => ExportOnly,
            "remove" => [.. AddOnly, .. ExportOnly, "allowed-ips", "endpoint", "keepalive"],
            _ => [.. AddOnly, .. AddOrRemove],
        };
        return refused.FirstOrDefault(command.Has);
    }

    private static int Add(ParsedCommand command, string name, string path, byte[] current, TextWriter output, TextWriter error, IKeyFileSource? keyFiles, string socket)
    {
        string? key = command.Option("public-key");
        string? allowed = command.Option("allowed-ips");
        if (key is null || allowed is null)
        {
            error.WriteLine("routerd: peer add needs --public-key KEY and --allowed-ips PREFIX[,PREFIX...] (try 'routerd peer --help')");
            return Program.UsageError;
        }
        if (!TryKeepalive(command, error, out int? keepalive))
            return Program.UsageError;
        // A key file named on the command line is relative to where the admin stands; the file needs an absolute path.
        string? psk = command.Option("preshared-key-file") is string f ? Path.GetFullPath(f) : null;
        var peer = new NewPeer(name, key.Trim(), SplitList(allowed), command.Option("endpoint"), keepalive, psk);
        var edit = PeerEdit.Add(current, command.Option("interface"), peer);
        if (!edit.Ok)
            return Refuse(error, $"{edit.Path}: error: {edit.Error}");
        var after = ConfigLoader.Parse(edit.Json!, keyFiles);
        using var afterConfig = after.Config;
        if (after.HasErrors)
            return Refuse(error, after.Problems.Where(p => p.IsError).Select(p => p.ToString()));
        // Nested prefixes are legal in the file (the longest match wins), but one typed on a command line that
        // overlaps another peer's is far more often a slip than a plan: refused here, the file can still say it.
        var overlaps = Overlaps(afterConfig!, edit.Path);
        if (overlaps.Count > 0)
            return Refuse(error, overlaps);
        foreach (var p in after.Problems)
            error.WriteLine(p);
        return Commit(command, edit.Json!, path, $"peer {name} added as {edit.Path}", output, error, socket);
    }

    /// <summary>--keepalive SECONDS (0..65535), null when not given; false (the error printed) when it is not one.</summary>
    private static bool TryKeepalive(ParsedCommand command, TextWriter error, out int? keepalive)
    {
        keepalive = null;
        if (command.Option("keepalive") is not string k)
            return true;
        if (!int.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) || seconds > 65535)
        {
            error.WriteLine($"routerd: --keepalive takes seconds from 0 to 65535, not '{k}'");
            return false;
        }
        keepalive = seconds;
        return true;
    }

    private static int Remove(ParsedCommand command, string name, string path, byte[] current, TextWriter output, TextWriter error, IKeyFileSource? keyFiles, string socket)
    {
        var edit = PeerEdit.Remove(current, name, out bool ledRemoved);
        if (!edit.Ok)
            return Refuse(error, $"{edit.Path}: error: {edit.Error}");
        var after = ConfigLoader.Parse(edit.Json!, keyFiles);
        using var afterConfig = after.Config;
        if (after.HasErrors)
            return Refuse(error, after.Problems.Where(p => p.IsError).Select(p => p.ToString()));
        return Commit(command, edit.Json!, path, $"peer {name} removed (was {edit.Path}{(ledRemoved ? $", and its LED leds.peers.{name}" : "")})", output, error, socket);
    }

    private static int Export(ParsedCommand command, string name, RouterConfig config, TextWriter output, TextWriter error, IKeyFileSource keyFiles)
    {
        var found = config.Interfaces.SelectMany(i => i.Peers.Select(p => (Interface: i, Peer: p))).FirstOrDefault(x => x.Peer.Name == name);
        if (found.Peer is null)
        {
            string known = string.Join(", ", config.Interfaces.SelectMany(i => i.Peers).Select(p => p.Name));
            error.WriteLine($"routerd: interfaces.*.peers: error: no peer is named '{name}'; the file has: {(known.Length == 0 ? "no peers" : known)}");
            return 1;
        }
        EndpointSpec? endpoint = null;
        if (command.Option("endpoint") is string e && !EndpointSpec.TryParse(e, out endpoint, out string? endpointError))
        {
            error.WriteLine($"routerd: --endpoint '{e}': {endpointError}");
            return Program.UsageError;
        }
        List<string>? allowed = null;
        if (command.Option("allowed-ips") is string a)
        {
            allowed = SplitList(a);
            foreach (var prefix in allowed)
            {
                if (!IpText.TryParsePrefix(prefix, out _, out _))
                {
                    error.WriteLine($"routerd: --allowed-ips: '{prefix}' is not a CIDR prefix; expected e.g. 10.10.0.0/24,192.168.1.0/24");
                    return Program.UsageError;
                }
            }
        }
        if (!TryKeepalive(command, error, out int? keepalive))
            return Program.UsageError;
        SecretKey? farKey = null;
        if (command.Option("private-key-file") is string keyPath)
        {
            var read = keyFiles.Read(Path.GetFullPath(keyPath));
            if (read.Key is null)
            {
                error.WriteLine($"routerd: --private-key-file: {read.Error}");
                return 1;
            }
            farKey = read.Key;
            Span<byte> pub = stackalloc byte[PublicKey.Size];
            Router.Crypto.X25519.DerivePublicKey(farKey.Bytes, pub);
            if (new PublicKey(pub) != found.Peer.PublicKey)
            {
                farKey.Dispose();
                error.WriteLine($"routerd: --private-key-file: the key in '{keyPath}' is not {name}'s: its public key is {new PublicKey(pub).ShortId}..., {name}'s is {found.Peer.PublicKey.ShortId}...");
                return 1;
            }
        }
        try
        {
            string text = PeerExport.Render(found.Interface, found.Peer, new ExportOptions(endpoint, allowed, keepalive, farKey));
            if (!command.Has("qr"))
            {
                output.Write(text);
                return 0;
            }
            // The code carries only what wg-quick reads; the comments (what to fill in) go to stderr, readable beside it.
            var lines = text.Split('\n');
            foreach (var comment in lines.Where(l => l.StartsWith('#')))
                error.WriteLine(comment);
            string code = string.Join('\n', lines.Where(l => !l.StartsWith('#')));
            if (TerminalQr.Render(code) is not string drawing)
            {
                error.WriteLine($"routerd: the file is {System.Text.Encoding.UTF8.GetByteCount(code)} bytes, more than a QR code holds; copy the file instead (routerd peer export {name} without --qr)");
                return 1;
            }
            output.Write(drawing);
            return 0;
        }
        finally
        {
            farKey?.Dispose();
        }
    }

    /// <summary>Each of the new peer's prefixes that contains, or lies inside, another peer's on the same interface.</summary>
    private static List<string> Overlaps(RouterConfig config, string newPath)
    {
        var problems = new List<string>();
        foreach (var iface in config.Interfaces)
        {
            string prefix = $"interfaces.{iface.Name}.peers[";
            if (!newPath.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            var added = iface.Peers[^1];
            for (int i = 0; i < added.AllowedIps.Count; i++)
            {
                var mine = added.AllowedIps[i];
                for (int j = 0; j < iface.Peers.Count - 1; j++)
                {
                    var other = iface.Peers[j];
                    for (int m = 0; m < other.AllowedIps.Count; m++)
                    {
                        var theirs = other.AllowedIps[m];
                        if (mine.Contains(theirs.BaseAddress) || theirs.Contains(mine.BaseAddress))
                            problems.Add($"{newPath}.allowedIps[{i}]: error: {mine} overlaps {theirs}, routed to peer '{other.Name}' ({prefix}{j}].allowedIps[{m}]); "
                                         + "expected a prefix of its own (to nest prefixes on purpose, edit router.json and use 'routerd apply')");
                    }
                }
            }
        }
        return problems;
    }

    /// <summary>Through the daemon when it runs (validated again there, applied, probed, rolled back); else straight to the file.</summary>
    private static int Commit(ParsedCommand command, byte[] json, string path, string done, TextWriter output, TextWriter error, string socket)
    {
        int confirm = 0;
        if (command.Option("confirm") is string c && (!int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out confirm) || confirm is < 1 or > 86400))
        {
            error.WriteLine($"routerd: --confirm takes a number of seconds from 1 to 86400, not '{c}'");
            return Program.UsageError;
        }
        if (File.Exists(socket))
        {
            int exit = ApplyCommand.ApplyJson(json, confirm, output, error, socket);
            if (exit == 0)
                output.WriteLine($"{done} in {path}{(confirm > 0 ? "; it stays only if 'routerd confirm' arrives in time" : "")}");
            return exit;
        }
        if (confirm > 0)
        {
            error.WriteLine($"routerd: --confirm needs the running daemon, and there is none at {socket}. Nothing changed.");
            return 1;
        }
        new ConfigStore(path).Write(json);
        output.WriteLine($"{done} in {path} (the previous file is {path}.prev); routerd is not running (no {socket}): it takes effect when 'routerd run' starts");
        return 0;
    }

    private static int Refuse(TextWriter error, string problem) => Refuse(error, [problem]);

    private static int Refuse(TextWriter error, IEnumerable<string> problems)
    {
        foreach (var p in problems)
            error.WriteLine(p);
        error.WriteLine("routerd: nothing changed");
        return 1;
    }

    private static List<string> SplitList(string text)
        => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
