using System.Net;
using System.Net.Sockets;
using System.Text;
using CsCheck;
using Router.Crypto;
using Router.Linux.Uapi;
using Xunit.Abstractions;

namespace Router.Fuzz;

/// <summary>
/// The UAPI set=1 text protocol as it arrives on /var/run/wireguard/IFNAME.sock: bodies of valid lines, near-valid
/// values (leading zeros, overflows, odd IPv6 text, zones, wrong key lengths) and raw garbage, plus byte-level
/// mutations of the committed corpus (the lines `wg setconf` sends). Properties: UapiParser.Parse never throws and
/// answers 0, -EINVAL or -EPROTO; what it accepts round-trips (written back as set lines, it parses to the same
/// request); and its hand-written address parser agrees with System.Net.IPAddress on every address it accepts.
/// </summary>
public sealed class UapiParserFuzz(ITestOutputHelper output)
{
    private static readonly Gen<string> Hex32 = Gen.Byte.Array[32].Select(b => Convert.ToHexStringLower(b));

    private static readonly Gen<string> IPv4Text = Gen.Frequency(
        (4, Gen.Byte.Array[4].Select(b => new IPAddress(b).ToString())),
        (1, Gen.Int[0, 300].Array[1, 5].Select(parts => string.Join('.', parts))),
        (1, Gen.Byte.Array[4].Select(b => string.Join('.', b.Select(x => x.ToString("D3"))))));

    private static readonly Gen<string> IPv6Text = Gen.Frequency(
        (4, Gen.Byte.Array[16].Select(b => new IPAddress(b).ToString())),
        (1, Gen.Byte.Array[16].Select(b => { b[0] = b[1] = b[2] = b[3] = 0; return new IPAddress(b).ToString(); })),
        (1, Gen.Byte.Array[4].Select(b => "::ffff:" + new IPAddress(b))),
        (2, Gen.Char["0123456789abcdefABCDEF:.%"].Array[0, 45].Select(c => new string(c))),
        (1, Gen.Byte.Array[16].Select(b => new IPAddress(b) + "%1")));

    private static readonly Gen<string> Prefix = Gen.Frequency(
        (2, Gen.Select(IPv4Text, Gen.Int[0, 33], (a, n) => $"{a}/{n}")),
        (2, Gen.Select(IPv6Text, Gen.Int[0, 129], (a, n) => $"{a}/{n}")),
        (1, Gen.Select(IPv4Text, Gen.OneOf("", "/", "/08", "/-1", "/+1", "/1/2", "/99999999999999999999999"), (a, s) => a + s)));

    private static readonly Gen<string> EndpointText = Gen.Frequency(
        (3, Gen.Select(IPv4Text, Gen.Int[0, 65536], (a, p) => $"{a}:{p}")),
        (3, Gen.Select(IPv6Text, Gen.Int[0, 65536], (a, p) => $"[{a}]:{p}")),
        (1, Gen.Select(IPv6Text, Gen.Int[0, 65535], (a, p) => $"{a}:{p}")),
        (1, Gen.OneOf("host.example:51820", "[::1]", ":51820", "[]:1", "1.2.3.4:", "[1.2.3.4]:5")));

    private static readonly Gen<string> Number = Gen.Frequency(
        (4, Gen.Int[0, 65535].Select(n => n.ToString())),
        (1, Gen.UInt.Select(n => n.ToString())),
        (1, Gen.OneOf("", "-1", "+1", "65536", "4294967296", "18446744073709551616", "0x10", "007", " 1")));

    private static readonly Gen<string> DeviceLine = Gen.Frequency(
        (3, Hex32.Select(h => "private_key=" + h)),
        (2, Number.Select(n => "listen_port=" + n)),
        (2, Number.Select(n => "fwmark=" + n)),
        (1, Gen.OneOf("replace_peers=true", "replace_peers=false", "private_key=" + new string('0', 64))));

    private static readonly Gen<string> PeerLine = Gen.Frequency(
        (6, Prefix.Select(p => "allowed_ip=" + p)),
        (1, Prefix.Select(p => "allowed_ip=-" + p)),
        (3, EndpointText.Select(e => "endpoint=" + e)),
        (2, Hex32.Select(h => "preshared_key=" + h)),
        (2, Number.Select(n => "persistent_keepalive_interval=" + n)),
        (2, Gen.OneOf("replace_allowed_ips=true", "remove=true", "update_only=true", "protocol_version=1", "protocol_version=2",
            "remove=false", "unknown=1", "noequals", "=", "public_key=" + new string('f', 63), "public_key=" + new string('g', 64))));

    private static readonly Gen<string> Garbage = Gen.Char.Array[0, 80].Select(c => new string(c).Replace("\n", ""));

    private static readonly Gen<string> Body = Gen.Select(DeviceLine.Array[0, 4],
            Gen.Select(Hex32, PeerLine.Array[0, 8], (k, lines) => "public_key=" + k + "\n" + string.Join('\n', lines)).Array[0, 4],
            Gen.Frequency((9, Gen.Const("")), (1, Garbage)),
            (device, peers, junk) => string.Join('\n', device.Concat(peers).Append(junk).Where(l => l.Length > 0)) + "\n\n");

    private sealed record Input(int Source, string Generated, int Seed, Mutation[] Steps);

    [Fact]
    public void SetRequestsParseWithoutThrowingAndWhatIsAcceptedRoundTrips()
    {
        byte[][] seeds = Corpus.Load("uapi");
        var gen = Gen.Select(Gen.Int[0, 3], Body, Gen.Int[0, seeds.Length - 1], Mutation.Steps(8), (s, g, i, m) => new Input(s, g, i, m));
        long accepted = 0, rejected = 0, addresses = 0;
        FuzzRun.Run(output, "uapi", gen, input =>
        {
            byte[] body = input.Source == 0 ? Mutation.Apply(seeds[input.Seed], input.Steps, seeds) : Encoding.UTF8.GetBytes(input.Generated);
            int status = UapiParser.Parse(body, out UapiSetRequest? request);
            Assert.True(status is UapiErrno.Ok or UapiErrno.Invalid or UapiErrno.Protocol, $"status {status}");
            Assert.Equal(status == 0, request is not null);
            if (request is null)
            {
                rejected++;
            }
            else
            {
                accepted++;
                string written = Write(request);
                Assert.Equal(0, UapiParser.Parse(Encoding.UTF8.GetBytes(written), out UapiSetRequest? again));
                Assert.Equal(written, Write(again!));
                request.Dispose();
                again!.Dispose();
            }
            addresses += CheckAddresses(body);
        }, print: i => i.Source == 0 ? $"seed {i.Seed} + {string.Join(",", i.Steps)}" : i.Generated);
        output.WriteLine($"{accepted} accepted, {rejected} rejected, {addresses} addresses checked against IPAddress");
    }

    /// <summary>The request back as set lines, in a canonical form (every field it holds, in a fixed order).</summary>
    private static string Write(UapiSetRequest r)
    {
        var s = new StringBuilder();
        if (r.HasPrivateKey) s.Append("private_key=").Append(Hex(r.PrivateKey)).Append('\n');
        if (r.ListenPort is { } port) s.Append("listen_port=").Append(port).Append('\n');
        if (r.Fwmark is { } mark) s.Append("fwmark=").Append(mark).Append('\n');
        if (r.ReplacePeers) s.Append("replace_peers=true\n");
        foreach (UapiPeerConfig p in r.Peers)
        {
            s.Append("public_key=").Append(Hex(p.PublicKey)).Append('\n');
            if (p.Remove) s.Append("remove=true\n");
            if (p.UpdateOnly) s.Append("update_only=true\n");
            if (p.HasPresharedKey) s.Append("preshared_key=").Append(Hex(p.PresharedKey)).Append('\n');
            if (p.Endpoint is { } e) s.Append("endpoint=").Append(e.ToIPEndPoint()).Append('\n');
            if (p.PersistentKeepaliveInterval is { } k) s.Append("persistent_keepalive_interval=").Append(k).Append('\n');
            if (p.ProtocolVersion is { } v) s.Append("protocol_version=").Append(v).Append('\n');
            if (p.ReplaceAllowedIps) s.Append("replace_allowed_ips=true\n");
            foreach (UapiAllowedIp a in p.AllowedIps) s.Append("allowed_ip=").Append(a).Append('\n');
        }
        return s.Append('\n').ToString();
    }

    private static string Hex(in Key32 key)
    {
        Span<byte> hex = stackalloc byte[64];
        UapiHex.Write(key, hex);
        return Encoding.ASCII.GetString(hex);
    }

    /// <summary>
    /// Every allowed_ip and endpoint value of the body, parsed by UapiParser and by IPAddress: an address the parser
    /// accepts must be one IPAddress reads the same; one IPAddress reads must be accepted unless it is outside the
    /// documented strict form (IPv4, also at the end of an IPv6 address, only as a dotted quad without leading zeros;
    /// no IPv6 zone; IPAddress also reads "[v6]:port", which is an endpoint, not an address).
    /// </summary>
    private static int CheckAddresses(byte[] body)
    {
        int checkedCount = 0;
        foreach (string line in Encoding.UTF8.GetString(body).Split('\n'))
        {
            string? address = null;
            if (line.StartsWith("allowed_ip=", StringComparison.Ordinal))
            {
                string v = line["allowed_ip=".Length..].TrimStart('-');
                int slash = v.IndexOf('/');
                address = slash < 0 ? v : v[..slash];
            }
            else if (line.StartsWith("endpoint=", StringComparison.Ordinal))
            {
                string v = line["endpoint=".Length..];
                int colon = v.LastIndexOf(':');
                address = colon < 0 ? v : v[..colon];
                if (address.Length >= 2 && address[0] == '[' && address[^1] == ']')
                    address = address[1..^1];
            }
            // Printable ASCII only: IPAddress itself is lenient with some control characters, which proves nothing here.
            if (address is null || address.Length > 100 || address.Any(c => c is < '!' or > '~'))
                continue;
            checkedCount++;
            byte[] text = Encoding.UTF8.GetBytes(address);
            bool ours = UapiParser.TryParseAddress(text, out UInt128 bits, out bool isIPv6);
            bool theirs = IPAddress.TryParse(address, out IPAddress? reference);
            if (ours)
            {
                Assert.True(theirs, $"'{address}' accepted, but IPAddress refuses it");
                Assert.Equal(isIPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, reference!.AddressFamily);
                byte[] expected = reference.GetAddressBytes();
                byte[] actual = new byte[isIPv6 ? 16 : 4];
                if (isIPv6)
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(actual, bits);
                else
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(actual, (uint)bits);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"'{address}' parsed as {Convert.ToHexString(actual)}, IPAddress says {reference}");
            }
            else if (theirs && !address.Contains('%') && !address.Contains('[') && (reference!.AddressFamily == AddressFamily.InterNetworkV6 ? address.Contains(':') && EmbeddedQuadIsStrict(address) : IsStrictQuad(address)))
            {
                Assert.Fail($"'{address}' refused, but it is valid ({reference})");
            }
        }
        return checkedCount;
    }

    /// <summary>An IPv6 address ending in a dotted quad follows the IPv4 rule too (as Go's netip, so wireguard-go).</summary>
    private static bool EmbeddedQuadIsStrict(string text) => !text.Contains('.') || IsStrictQuad(text[(text.LastIndexOf(':') + 1)..]);

    private static bool IsStrictQuad(string text)
    {
        string[] parts = text.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit) && (p.Length == 1 || p[0] != '0') && int.Parse(p) <= 255);
    }
}
