using System.Diagnostics;
using System.Net;
using System.Text;
using Router.Linux.Uapi;
using Xunit.Abstractions;
using Router.Crypto;

namespace Router.Linux.Tests;

public sealed class UapiParserTests(ITestOutputHelper output)
{
    private const string Key1 = "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a";
    private const string Key2 = "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33";

    private static (int Errno, UapiSetRequest? Request) Parse(string body)
    {
        int errno = UapiParser.Parse(Encoding.UTF8.GetBytes(body), out UapiSetRequest? request);
        return (errno, request);
    }

    [Fact]
    public void The_configuration_protocol_example_parses_into_typed_operations()
    {
        // Shaped like the example on https://www.wireguard.com/xplatform/.
        var (errno, request) = Parse(
            $"private_key={Key1}\nlisten_port=12912\nfwmark=0\nreplace_peers=true\n" +
            $"public_key={Key2}\npreshared_key={Key1}\nreplace_allowed_ips=true\nallowed_ip=192.168.4.4/32\n" +
            "endpoint=[abcd:23::33%2]:51820\n".Replace("%2", "") +
            $"public_key={Key1}\nupdate_only=true\nendpoint=182.122.22.19:3233\npersistent_keepalive_interval=111\n" +
            "replace_allowed_ips=true\nallowed_ip=192.168.4.6/32\nallowed_ip=-192.168.4.7/32\nprotocol_version=1\n" +
            $"public_key={Key2}\nremove=true\n\n");
        Assert.Equal(0, errno);
        using UapiSetRequest r = request!;
        Assert.True(r.HasPrivateKey);
        Assert.Equal(Convert.FromHexString(Key1), ((ReadOnlySpan<byte>)r.PrivateKey).ToArray());
        Assert.Equal((ushort)12912, r.ListenPort);
        Assert.Equal(0u, r.Fwmark);
        Assert.True(r.ReplacePeers);
        Assert.Equal(3, r.Peers.Count);

        UapiPeerConfig first = r.Peers[0];
        Assert.Equal(Convert.FromHexString(Key2), ((ReadOnlySpan<byte>)first.PublicKey).ToArray());
        Assert.True(first.HasPresharedKey);
        Assert.True(first.ReplaceAllowedIps);
        Assert.Equal("192.168.4.4/32", Assert.Single(first.AllowedIps).ToString());
        Assert.Equal("[abcd:23::33]:51820", first.Endpoint.ToString());

        UapiPeerConfig second = r.Peers[1];
        Assert.True(second.UpdateOnly);
        Assert.Equal("182.122.22.19:3233", second.Endpoint.ToString());
        Assert.Equal((ushort)111, second.PersistentKeepaliveInterval);
        Assert.Equal(["192.168.4.6/32", "-192.168.4.7/32"], second.AllowedIps.Select(a => a.ToString()));
        Assert.True(second.AllowedIps[1].Remove);
        Assert.Equal(1, second.ProtocolVersion);

        Assert.True(r.Peers[2].Remove);
    }

    [Theory]
    [InlineData("no_equals_sign", UapiErrno.Protocol)]
    [InlineData("bogus=1", UapiErrno.Invalid)]
    [InlineData("private_key=1234", UapiErrno.Invalid)]
    [InlineData("private_key=" + Key1 + "00", UapiErrno.Invalid)]
    [InlineData("private_key=zz4b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a", UapiErrno.Invalid)]
    [InlineData("listen_port=65536", UapiErrno.Invalid)]
    [InlineData("listen_port=-1", UapiErrno.Invalid)]
    [InlineData("listen_port=", UapiErrno.Invalid)]
    [InlineData("fwmark=4294967296", UapiErrno.Invalid)]
    [InlineData("fwmark=0x10", UapiErrno.Invalid)]
    [InlineData("replace_peers=false", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nlisten_port=1", UapiErrno.Invalid)] // device key inside a peer section
    [InlineData("public_key=abc", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nendpoint=1.2.3.4", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nendpoint=1.2.3.4:70000", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nendpoint=::1:51820", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nendpoint=[1.2.3.4]:51820", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nendpoint=[fe80::1%eth0]:51820", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nendpoint=example.com:51820", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nallowed_ip=10.0.0.0/33", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nallowed_ip=10.0.0.0", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nallowed_ip=10.0.0/8", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nallowed_ip=010.0.0.0/8", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nallowed_ip=256.0.0.0/8", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nallowed_ip=fd00::/129", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nallowed_ip=--10.0.0.0/8", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\npersistent_keepalive_interval=65536", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nprotocol_version=2", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nremove=yes", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nupdate_only=1", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nreplace_allowed_ips=false", UapiErrno.Invalid)]
    [InlineData("public_key=" + Key1 + "\nunknown_peer_key=1", UapiErrno.Invalid)]
    public void Malformed_lines_get_the_errno_wireguard_go_gives(string body, int expected)
    {
        var (errno, request) = Parse(body + "\n\n");
        Assert.Equal(expected, errno);
        Assert.Null(request);
    }

    [Fact]
    public void Accepted_edge_values()
    {
        var (errno, request) = Parse(
            "listen_port=0\nfwmark=4294967295\n" +
            $"public_key={Key1.ToUpperInvariant()}\nendpoint=[::ffff:1.2.3.4]:0\nallowed_ip=10.1.2.3/8\nallowed_ip=::/0\nallowed_ip=0.0.0.0/0\n\n");
        Assert.Equal(0, errno);
        using UapiSetRequest r = request!;
        Assert.Equal(uint.MaxValue, r.Fwmark);
        Assert.Equal(["10.1.2.3/8", "::/0", "0.0.0.0/0"], r.Peers[0].AllowedIps.Select(a => a.ToString()));
    }

    [Theory]
    [InlineData("::", true)]
    [InlineData("::1", true)]
    [InlineData("fd00::", true)]
    [InlineData("1:2:3:4:5:6:7:8", true)]
    [InlineData("1::8", true)]
    [InlineData("::ffff:1.2.3.4", true)]
    [InlineData("64:ff9b::192.0.2.33", true)]
    [InlineData("ABCD:ef01::", true)]
    [InlineData("1:2:3:4:5:6:7::", true)]
    [InlineData("1::2::3", false)]
    [InlineData("1:2:3:4:5:6:7:8:9", false)]
    [InlineData("1:2:3:4:5:6:7:8::", false)]
    [InlineData(":1", false)]
    [InlineData("1:", false)]
    [InlineData(":::", false)]
    [InlineData("12345::", false)]
    [InlineData("::1.2.3", false)]
    [InlineData("1:2:3:4:5:6:7:1.2.3.4", false)]
    [InlineData("g::", false)]
    public void Ipv6_text_is_parsed_strictly(string text, bool valid)
    {
        bool ok = UapiParser.TryParseIPv6(Encoding.ASCII.GetBytes(text), out UInt128 bits);
        Assert.Equal(valid, ok);
        if (valid)
        {
            Span<byte> bytes = stackalloc byte[16];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, bits);
            Assert.Equal(IPAddress.Parse(text), new IPAddress(bytes));
        }
    }

    [Fact]
    public void Ipv6_parsing_agrees_with_IPAddress_on_random_addresses()
    {
        var random = new Random(5);
        Span<byte> bytes = stackalloc byte[16];
        Span<byte> actual = stackalloc byte[16];
        for (int i = 0; i < 20_000; i++)
        {
            random.NextBytes(bytes);
            // Runs of zero groups exercise "::".
            for (int g = random.Next(8); g < 8; g += 1 + random.Next(4))
                bytes[(2 * g)..(2 * g + 2)].Clear();
            var expected = new IPAddress(bytes);
            Assert.True(UapiParser.TryParseIPv6(Encoding.ASCII.GetBytes(expected.ToString()), out UInt128 bits), expected.ToString());
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(actual, bits);
            Assert.True(actual.SequenceEqual(bytes), expected.ToString());
        }
    }

    [Fact]
    public void Replace_allowed_ips_also_drops_what_the_same_section_added_before_it()
    {
        var (errno, request) = Parse($"public_key={Key1}\nallowed_ip=10.0.0.0/8\nreplace_allowed_ips=true\nallowed_ip=10.1.0.0/16\n\n");
        Assert.Equal(0, errno);
        Assert.Equal("10.1.0.0/16", Assert.Single(request!.Peers[0].AllowedIps).ToString());
        Assert.True(request.Peers[0].ReplaceAllowedIps);
    }

    [Fact]
    public void Dispose_wipes_the_secrets()
    {
        var (_, request) = Parse($"private_key={Key1}\npublic_key={Key2}\npreshared_key={Key1}\n\n");
        request!.Dispose();
        Assert.True(request.PrivateKey.IsZero);
        Assert.True(request.Peers[0].PresharedKey.IsZero);
        Assert.False(request.Peers[0].PublicKey.IsZero);
    }

    /// <summary>The body wg setconf sends for one peer with 255 x 256 IPv4 /16 and as many IPv6 /128.</summary>
    internal static string LargeBody(out int count)
    {
        var body = new StringBuilder();
        body.Append($"private_key={Key1}\nreplace_peers=true\npublic_key={Key2}\nreplace_allowed_ips=true\n");
        count = 0;
        for (int a = 1; a <= 255; a++)
            for (int b = 0; b < 256; b++, count++)
                body.Append($"allowed_ip={a}.{b}.0.0/16\n");
        for (int a = 1; a <= 255; a++)
            for (int b = 0; b < 256; b++, count++)
                body.Append($"allowed_ip=fd00::{a:x}:{b:x}/128\n");
        body.Append('\n');
        return body.ToString();
    }

    [Fact]
    public void A_peer_with_130560_allowed_ips_parses_in_well_under_a_few_seconds()
    {
        byte[] body = Encoding.UTF8.GetBytes(LargeBody(out int count));
        Assert.Equal(130_560, count);
        UapiParser.Parse(body, out UapiSetRequest? warm); // JIT warm-up
        warm!.Dispose();

        var watch = Stopwatch.StartNew();
        int errno = UapiParser.Parse(body, out UapiSetRequest? request);
        watch.Stop();
        output.WriteLine($"parsed {count} allowed IPs ({body.Length / 1024} KiB) in {watch.Elapsed.TotalMilliseconds:F1} ms");
        Assert.Equal(0, errno);
        Assert.Equal(count, request!.Peers[0].AllowedIps.Count);
        Assert.Equal("255.255.0.0/16", request.Peers[0].AllowedIps[65_279].ToString());
        Assert.Equal("fd00::ff:ff/128", request.Peers[0].AllowedIps[^1].ToString());
        // Budget: "a few seconds at most". Alone it takes 25-200 ms here; the margin is for a loaded 2-core machine.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Get_replies_are_formatted_as_wireguard_go_formats_them()
    {
        var device = new UapiDeviceSnapshot { PrivateKey = Key32.From(Convert.FromHexString(Key1)), ListenPort = 51820, Fwmark = 0 };
        var peer = new UapiPeerSnapshot
        {
            PublicKey = Key32.From(Convert.FromHexString(Key2)),
            Endpoint = Router.Tunnel.IO.Endpoint.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 51820)),
            LastHandshakeSeconds = 1_700_000_000,
            LastHandshakeNanoseconds = 123,
            TxBytes = 148,
            RxBytes = 92,
            PersistentKeepaliveInterval = 25,
        };
        peer.AllowedIps.Add(UapiAllowedIp.From(IPAddress.Parse("10.0.0.0"), 8));
        peer.AllowedIps.Add(UapiAllowedIp.From(IPAddress.Parse("fd00::"), 64));
        device.Peers.Add(peer);
        device.Peers.Add(new UapiPeerSnapshot { PublicKey = Key32.From(Convert.FromHexString(Key1)) });
        var writer = new UapiWriter();
        writer.WriteDevice(device);
        string text = Encoding.UTF8.GetString(writer.Written);
        Assert.Equal(
            $"private_key={Key1}\nlisten_port=51820\n" +
            $"public_key={Key2}\npreshared_key={new string('0', 64)}\nprotocol_version=1\nendpoint=[2001:db8::1]:51820\n" +
            "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=123\ntx_bytes=148\nrx_bytes=92\n" +
            "persistent_keepalive_interval=25\nallowed_ip=10.0.0.0/8\nallowed_ip=fd00::/64\n" +
            $"public_key={Key1}\npreshared_key={new string('0', 64)}\nprotocol_version=1\n" +
            "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n",
            text);
    }
}
