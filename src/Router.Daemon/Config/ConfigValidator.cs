using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Router.Crypto;

namespace Router.Daemon.Config;

/// <summary>
/// Turns what the provider read into a <see cref="RouterConfig"/>, collecting every problem on the way rather than
/// stopping at the first: the schema walk (unknown fields, types, ranges, inline secrets), then binding through the
/// source-generated binder, then meaning (keys, prefixes, overlaps, names, files). A configuration comes back only
/// when there is no error; warnings (loose key-file permissions, host bits in a prefix) do not block it.
/// Deterministic given the key-file source, so the whole table of bad configurations is tested without a daemon.
/// </summary>
internal static class ConfigValidator
{
    private const int MaxPeerName = 32;

    public static RouterConfig? Validate(IConfiguration configuration, IKeyFileSource keyFiles, List<ConfigProblem> problems)
    {
        int before = problems.Count;
        bool bindable = SchemaWalker.Walk(configuration, problems);
        if (!bindable)
            return null;

        ConfigFile file;
        try
        {
            file = configuration.Get<ConfigFile>() ?? new ConfigFile();
        }
        catch (InvalidOperationException e)
        {
            // The walker checks every value the binder converts; reaching this is a gap in the walker, still reported.
            problems.Add(ConfigProblem.Error("", e.Message));
            return null;
        }

        var secrets = new List<SecretKey>();
        RouterConfig? config = Build(file, keyFiles, problems, secrets);
        if (config is null || problems.Skip(before).Any(p => p.IsError))
        {
            config?.Dispose();
            foreach (var s in secrets)
                s.Dispose();
            return null;
        }
        return config;
    }

    private static RouterConfig? Build(ConfigFile file, IKeyFileSource keyFiles, List<ConfigProblem> problems, List<SecretKey> secrets)
    {
        var interfaces = new List<InterfaceConfig>();
        var peerNames = new Dictionary<string, string>(StringComparer.Ordinal); // name -> path of first use
        var listenPorts = new Dictionary<int, string>();
        bool complete = true;

        if (file.Interfaces is null || file.Interfaces.Count == 0)
        {
            problems.Add(ConfigProblem.Error("interfaces", "at least one interface is required, e.g. \"interfaces\": { \"wg0\": { ... } }"));
            complete = false;
        }
        foreach (var (name, section) in file.Interfaces ?? [])
        {
            var built = BuildInterface($"interfaces.{name}", name, section, keyFiles, problems, secrets, peerNames, listenPorts);
            if (built is null)
                complete = false;
            else
                interfaces.Add(built);
        }

        LedsConfig? leds = LedsValidator.Build(file.Leds, peerNames, problems);
        ForwardingConfig forwarding = BuildForwarding(file.Forwarding, problems);
        MetricsConfig metrics = BuildMetrics(file.Metrics, problems);
        StateConfig state = BuildState(file.State, problems);
        if (!complete)
            return null;
        return new RouterConfig(interfaces, leds, forwarding, metrics, state);
    }

    private static InterfaceConfig? BuildInterface(string path, string name, InterfaceSection s, IKeyFileSource keyFiles,
        List<ConfigProblem> problems, List<SecretKey> secrets, Dictionary<string, string> peerNames, Dictionary<int, string> listenPorts)
    {
        if (!IsInterfaceName(name))
            problems.Add(ConfigProblem.Error(path, $"'{name}' is not a valid interface name; expected 1-15 characters of letters, digits, '-', '_' or '.'"));

        SecretKey? privateKey = null;
        if (string.IsNullOrEmpty(s.PrivateKeyFile))
            problems.Add(ConfigProblem.Error($"{path}.privateKeyFile", "required: the file holding this interface's private key (mode 0600, as 'wg genkey' writes)"));
        else
            privateKey = ReadKey($"{path}.privateKeyFile", s.PrivateKeyFile, keyFiles, problems, secrets);

        if (s.ListenPort is int port and > 0)
        {
            if (listenPorts.TryGetValue(port, out string? other))
                problems.Add(ConfigProblem.Error($"{path}.listenPort", $"port {port} is already used by {other}; expected a port of its own"));
            else
                listenPorts[port] = path;
        }

        var addresses = new List<InterfaceAddress>();
        for (int i = 0; i < (s.Addresses?.Count ?? 0); i++)
        {
            // JSON null binds as a null element; the schema walk has already reported it ("expected a non-empty string").
            if (s.Addresses![i] is not string text)
                continue;
            if (IpText.TryParsePrefix(text, out var address, out int length))
                addresses.Add(new InterfaceAddress(address, length));
            else
                problems.Add(ConfigProblem.Error($"{path}.addresses[{i}]", $"'{text}' is not an address with prefix length; expected e.g. 10.10.0.1/24 or fd00::1/64"));
        }

        PublicKey? ownPublicKey = null;
        if (privateKey is not null)
        {
            Span<byte> pub = stackalloc byte[PublicKey.Size];
            X25519.DerivePublicKey(privateKey.Bytes, pub);
            ownPublicKey = new PublicKey(pub);
        }

        var peers = new List<PeerConfig>();
        var publicKeys = new Dictionary<PublicKey, string>();
        var prefixes = new Dictionary<IPNetwork, string>();
        bool peersComplete = true;
        for (int i = 0; i < (s.Peers?.Count ?? 0); i++)
        {
            var peer = BuildPeer($"{path}.peers[{i}]", s.Peers![i], ownPublicKey, keyFiles, problems, secrets, peerNames, publicKeys, prefixes);
            if (peer is null)
                peersComplete = false;
            else
                peers.Add(peer);
        }

        if (privateKey is null || !peersComplete)
            return null;
        return new InterfaceConfig(name, s.PrivateKeyFile!, privateKey, s.ListenPort is > 0 ? s.ListenPort : null,
            (uint)(s.Fwmark ?? 0), addresses, s.Mtu ?? InterfaceConfig.DefaultMtu, peers);
    }

    private static PeerConfig? BuildPeer(string path, PeerSection s, PublicKey? ownPublicKey, IKeyFileSource keyFiles,
        List<ConfigProblem> problems, List<SecretKey> secrets, Dictionary<string, string> peerNames,
        Dictionary<PublicKey, string> publicKeys, Dictionary<IPNetwork, string> prefixes)
    {
        bool ok = true;
        if (string.IsNullOrEmpty(s.Name))
        {
            problems.Add(ConfigProblem.Error($"{path}.name", "required: a short name for this peer (used by LEDs, logs and 'routerd show')"));
            ok = false;
        }
        else if (!IsPeerName(s.Name))
        {
            problems.Add(ConfigProblem.Error($"{path}.name", $"'{s.Name}' is not a valid peer name; expected 1-{MaxPeerName} letters, digits, '-', '_' or '.', starting with a letter or digit"));
        }
        else if (peerNames.TryGetValue(s.Name, out string? first))
        {
            problems.Add(ConfigProblem.Error($"{path}.name", $"duplicate peer name '{s.Name}', already used at {first}; expected names unique across all interfaces"));
        }
        else
        {
            peerNames[s.Name] = path;
        }

        PublicKey publicKey = default;
        if (string.IsNullOrEmpty(s.PublicKey))
        {
            problems.Add(ConfigProblem.Error($"{path}.publicKey", "required: the peer's public key (base64, as 'wg pubkey' prints)"));
            ok = false;
        }
        else if (!PublicKey.TryParse(s.PublicKey, out publicKey))
        {
            problems.Add(ConfigProblem.Error($"{path}.publicKey", KeyFormatMessage(s.PublicKey)));
            ok = false;
        }
        else if (ownPublicKey is PublicKey own && own == publicKey)
        {
            problems.Add(ConfigProblem.Error($"{path}.publicKey", "is this interface's own public key; expected the public key of the other end"));
        }
        else if (publicKeys.TryGetValue(publicKey, out string? first))
        {
            problems.Add(ConfigProblem.Error($"{path}.publicKey", $"duplicate public key, already used by {first}; expected one entry per peer"));
        }
        else
        {
            publicKeys[publicKey] = path;
        }

        SecretKey? psk = null;
        if (s.PresharedKeyFile is not null)
        {
            psk = ReadKey($"{path}.presharedKeyFile", s.PresharedKeyFile, keyFiles, problems, secrets);
            ok &= psk is not null;
        }

        EndpointSpec? endpoint = null;
        if (s.Endpoint is not null && !EndpointSpec.TryParse(s.Endpoint, out endpoint, out string? endpointError))
            problems.Add(ConfigProblem.Error($"{path}.endpoint", $"'{s.Endpoint}': {endpointError}"));

        var allowed = new List<IPNetwork>();
        for (int i = 0; i < (s.AllowedIps?.Count ?? 0); i++)
        {
            if (s.AllowedIps![i] is not string text)
                continue; // JSON null, reported by the schema walk
            string itemPath = $"{path}.allowedIps[{i}]";
            if (!IpText.TryParsePrefix(text, out var address, out int length))
            {
                problems.Add(ConfigProblem.Error(itemPath, $"'{text}' is not a CIDR prefix; expected e.g. 10.1.0.0/16, 192.0.2.7/32 or fd00::/64"));
                continue;
            }
            var network = new IPNetwork(IpText.Mask(address, length), length);
            if (!network.BaseAddress.Equals(address))
                problems.Add(ConfigProblem.Warning(itemPath, $"'{text}' has host bits set; it means {network}"));
            if (allowed.Contains(network))
            {
                problems.Add(ConfigProblem.Warning(itemPath, $"{network} is listed twice for this peer"));
                continue;
            }
            // The same prefix on two peers: WireGuard would silently give it to whichever came last.
            if (prefixes.TryGetValue(network, out string? owner))
                problems.Add(ConfigProblem.Error(itemPath, $"{network} is already routed to {owner}; expected each prefix on one peer (nested prefixes are fine: the longest match wins)"));
            else
                prefixes[network] = path;
            allowed.Add(network);
        }

        if (!ok)
            return null;
        return new PeerConfig(s.Name!, publicKey, s.PresharedKeyFile, psk, endpoint, allowed, s.PersistentKeepalive ?? 0);
    }

    private static SecretKey? ReadKey(string path, string file, IKeyFileSource keyFiles, List<ConfigProblem> problems, List<SecretKey> secrets)
    {
        if (!Path.IsPathRooted(file))
        {
            problems.Add(ConfigProblem.Error(path, $"'{file}' is a relative path; expected an absolute path such as /etc/router/wg0.key"));
            return null;
        }
        var result = keyFiles.Read(file);
        if (result.Error is not null)
            problems.Add(ConfigProblem.Error(path, result.Error));
        if (result.Warning is not null)
            problems.Add(ConfigProblem.Warning(path, result.Warning));
        if (result.Key is not null)
            secrets.Add(result.Key);
        return result.Key;
    }

    private static ForwardingConfig BuildForwarding(ForwardingSection? s, List<ConfigProblem> problems)
    {
        if (s is null)
            return ForwardingConfig.Off;
        var masquerade = s.Masquerade ?? [];
        for (int i = 0; i < masquerade.Count; i++)
        {
            if (masquerade[i] is not null && !IsInterfaceName(masquerade[i])) // null: reported by the schema walk
                problems.Add(ConfigProblem.Error($"forwarding.masquerade[{i}]", $"'{masquerade[i]}' is not a valid interface name; expected e.g. eth0"));
        }
        bool enabled = s.Enabled ?? false;
        if (!enabled && (masquerade.Count > 0 || s.MssClamp == true))
            problems.Add(ConfigProblem.Warning("forwarding.enabled", "is false, so masquerade and mssClamp have no effect"));
        return new ForwardingConfig(enabled, masquerade.Where(m => m is not null).ToArray(), s.MssClamp ?? false);
    }

    private static MetricsConfig BuildMetrics(MetricsSection? s, List<ConfigProblem> problems)
    {
        if (s is null)
            return MetricsConfig.Off;
        string listen = s.Listen ?? MetricsConfig.DefaultListen;
        bool enabled = s.Enabled ?? false;
        if (listen.StartsWith("unix:", StringComparison.Ordinal))
        {
            string socketPath = listen["unix:".Length..];
            if (!Path.IsPathRooted(socketPath))
                problems.Add(ConfigProblem.Error("metrics.listen", $"'{listen}': expected unix: followed by an absolute path, e.g. unix:/run/router/metrics.sock"));
            return new MetricsConfig(enabled, listen, null, socketPath);
        }
        if (!EndpointSpec.TryParse(listen, out var endpoint, out _) || endpoint!.Address is null)
        {
            problems.Add(ConfigProblem.Error("metrics.listen", $"'{listen}': expected IP:port (e.g. 127.0.0.1:9586, [::1]:9586) or unix:/path"));
            return new MetricsConfig(enabled, listen, null, null);
        }
        if (!IPAddress.IsLoopback(endpoint.Address))
            problems.Add(ConfigProblem.Warning("metrics.listen", $"{endpoint} is not a loopback address; the metrics endpoint has no authentication"));
        return new MetricsConfig(enabled, listen, new IPEndPoint(endpoint.Address, endpoint.Port), null);
    }

    private static StateConfig BuildState(StateSection? s, List<ConfigProblem> problems)
    {
        if (s?.TimestampFloorFile is not string file)
            return StateConfig.Default;
        if (!Path.IsPathRooted(file))
            problems.Add(ConfigProblem.Error("state.timestampFloorFile", $"'{file}' is a relative path; expected an absolute path such as {StateConfig.DefaultTimestampFloorFile}"));
        return new StateConfig(file);
    }

    private static string KeyFormatMessage(string text)
    {
        Span<byte> scratch = stackalloc byte[64];
        if (Convert.TryFromBase64String(text, scratch, out int length))
            return $"decodes to {length} bytes; expected a 32-byte key in base64 (44 characters ending in '=')";
        return "is not valid base64; expected a 32-byte key in base64 (44 characters ending in '='), as 'wg pubkey' prints";
    }

    /// <summary>Linux interface names: 1-15 bytes; kept to a portable set of characters.</summary>
    public static bool IsInterfaceName(string name)
        => name.Length is > 0 and <= 15 && name is not "." and not ".."
           && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    public static bool IsPeerName(string name)
        => name.Length is > 0 and <= MaxPeerName && char.IsAsciiLetterOrDigit(name[0])
           && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
