using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Router.Linux.Uapi;
using Xunit.Abstractions;
using Router.Crypto;

namespace Router.Linux.Tests;

/// <summary>The UAPI server driven by the real wg(8) and by hand over the socket, with a fake device behind it.</summary>
[Collection(AllocationMeasuring.Name)]
public sealed class UapiServerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _name = "rtu" + Random.Shared.Next(100000, 999999);
    private readonly string _temp = Directory.CreateTempSubdirectory("uapi-test-").FullName;
    private readonly FakeUapiDevice _device = new();

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private UapiServer Start(string? directory = null) =>
        new(_name, _device, directory ?? UapiServer.DefaultDirectory) { Log = m => output.WriteLine(m) };

    private static string RandomKey() => Convert.ToBase64String(RandomNumberGeneratorBytes());

    private static byte[] RandomNumberGeneratorBytes() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    private string KeyFile(string base64)
    {
        string path = Path.Combine(_temp, Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, base64 + "\n");
        return path;
    }

    private static string Hex(string base64) => Convert.ToHexStringLower(Convert.FromBase64String(base64));

    private static byte[] Bytes(in Key32 key) => ((ReadOnlySpan<byte>)key).ToArray();

    [WgFact]
    public void Wg_set_show_and_showconf_work_against_the_server()
    {
        using UapiServer server = Start();
        string privateKey = Sh.Run("wg", "genkey").Trim();
        string publicKey = Sh.Run("wg", "pubkey", privateKey + "\n").Trim();
        string peer1 = RandomKey(), peer2 = RandomKey(), psk = RandomKey();

        Sh.Run("wg", $"set {_name} private-key {KeyFile(privateKey)} listen-port 51820 fwmark 0x1234 " +
            $"peer {peer1} preshared-key {KeyFile(psk)} endpoint 192.0.2.1:51820 persistent-keepalive 25 allowed-ips 10.0.0.0/8,fd00::/64");
        Assert.Equal(Convert.FromBase64String(privateKey), Bytes(_device.PrivateKey));
        Assert.Equal(51820, _device.ListenPort);
        Assert.Equal(0x1234u, _device.Fwmark);
        var p1 = Assert.Single(_device.Peers);
        Assert.Equal(Convert.FromBase64String(psk), Bytes(p1.PresharedKey));
        Assert.Equal("192.0.2.1:51820", p1.Endpoint.ToString());
        Assert.Equal(25, p1.Keepalive);
        Assert.Equal(["10.0.0.0/8", "fd00::/64"], p1.AllowedIps.Select(a => a.ToString()));

        Sh.Run("wg", $"set {_name} peer {peer2} endpoint [2001:db8::1]:4242 allowed-ips 10.1.0.0/16");
        Assert.Equal(2, _device.Peers.Count);

        // wg show NAME dump: interface line, then one line per peer, tab-separated.
        string[] dump = Sh.Run("wg", $"show {_name} dump").TrimEnd('\n').Split('\n');
        Assert.Equal($"{privateKey}\t{publicKey}\t51820\t0x1234", dump[0]);
        Assert.Equal($"{peer1}\t{psk}\t192.0.2.1:51820\t10.0.0.0/8,fd00::/64\t1700000000\t5678\t1234\t25", dump[1]);
        Assert.Equal($"{peer2}\t(none)\t[2001:db8::1]:4242\t10.1.0.0/16\t1700000000\t5678\t1234\toff", dump[2]);

        string conf = Sh.Run("wg", $"showconf {_name}");
        output.WriteLine(conf);
        Assert.Contains($"PrivateKey = {privateKey}", conf);
        Assert.Contains("ListenPort = 51820", conf);
        Assert.Contains("FwMark = 0x1234", conf);
        Assert.Contains($"PublicKey = {peer1}", conf);
        Assert.Contains($"PresharedKey = {psk}", conf);
        Assert.Contains("AllowedIPs = 10.0.0.0/8, fd00::/64", conf);
        Assert.Contains("Endpoint = 192.0.2.1:51820", conf);
        Assert.Contains("PersistentKeepalive = 25", conf);
        Assert.Contains("Endpoint = [2001:db8::1]:4242", conf);

        string human = Sh.Run("wg", $"show {_name}");
        Assert.Contains($"interface: {_name}", human);
        Assert.Contains($"public key: {publicKey}", human);

        Sh.Run("wg", $"set {_name} peer {peer1} remove");
        Assert.Equal(Convert.FromBase64String(peer2), Bytes(Assert.Single(_device.Peers).PublicKey));
        Sh.Run("wg", $"set {_name} fwmark off listen-port 0");
        Assert.Equal(0u, _device.Fwmark);
        Assert.DoesNotContain("fwmark", Sh.Run("wg", $"show {_name} fwmark").Replace("off", ""));
    }

    [WgFact]
    public void Wg_setconf_of_large_configurations_round_trips_through_showconf()
    {
        using UapiServer server = Start();
        string privateKey = Sh.Run("wg", "genkey").Trim();
        string bigPeer = RandomKey();
        var expected = new Dictionary<string, HashSet<string>>();
        var conf = new StringBuilder($"[Interface]\nPrivateKey = {privateKey}\nListenPort = 51821\n\n[Peer]\nPublicKey = {bigPeer}\n");
        var big = expected[bigPeer] = [];
        var line = new List<string>();
        void Flush()
        {
            if (line.Count > 0)
                conf.Append("AllowedIPs = ").AppendJoin(", ", line).Append('\n');
            line.Clear();
        }
        void Add(HashSet<string> set, string prefix)
        {
            set.Add(prefix);
            line.Add(prefix);
            if (line.Count == 256)
                Flush();
        }
        for (int a = 1; a <= 255; a++)
            for (int b = 0; b < 256; b++)
                Add(big, $"{a}.{b}.0.0/16");
        for (int a = 1; a <= 255; a++)
            for (int b = 0; b < 256; b++)
                Add(big, $"fd00::{a:x}:{b:x}/128");
        Flush();
        for (int i = 0; i < 40; i++)
        {
            string key = RandomKey();
            var set = expected[key] = [];
            conf.Append($"\n[Peer]\nPublicKey = {key}\nEndpoint = 192.0.2.{i + 1}:{50000 + i}\n");
            for (int j = 0; j < 26; j++)
            {
                Add(set, $"10.{i}.{j}.0/24");
                Add(set, $"fd10:{i:x}:{j:x}::/48");
            }
            Flush();
        }
        Assert.Equal(130_560, big.Count);
        string path = Path.Combine(_temp, "big.conf");
        File.WriteAllText(path, conf.ToString());

        var watch = Stopwatch.StartNew();
        Sh.Run("wg", $"setconf {_name} {path}", timeoutMs: 60_000);
        TimeSpan setTime = watch.Elapsed;
        Assert.Equal(41, _device.Peers.Count);
        Assert.Equal(130_560, _device.Peers[0].AllowedIps.Count);

        watch.Restart();
        string shown = Sh.Run("wg", $"showconf {_name}", timeoutMs: 60_000);
        TimeSpan showTime = watch.Elapsed;
        output.WriteLine($"wg setconf (130,560 + 40 x 52 allowed IPs): {setTime.TotalMilliseconds:F0} ms; wg showconf: {showTime.TotalMilliseconds:F0} ms");
        Assert.True(setTime < TimeSpan.FromSeconds(10), $"setconf took {setTime}");

        // Parse showconf back: every peer with exactly its allowed IPs.
        var actual = new Dictionary<string, HashSet<string>>();
        HashSet<string>? current = null;
        foreach (string raw in shown.Split('\n'))
        {
            string l = raw.Trim();
            if (l.StartsWith("PublicKey = ", StringComparison.Ordinal))
                actual[l[12..]] = current = [];
            else if (l.StartsWith("AllowedIPs = ", StringComparison.Ordinal))
                foreach (string prefix in l[13..].Split(", "))
                    current!.Add(Normalize(prefix));
        }
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, set) in expected)
            Assert.True(set.Select(Normalize).ToHashSet().SetEquals(actual[key]), $"allowed IPs of {key} differ");

        // wg show reads the same back: one line per peer, its allowed IPs space-separated.
        string[] lines = Sh.Run("wg", $"show {_name} allowed-ips", timeoutMs: 60_000).TrimEnd('\n').Split('\n');
        Assert.Equal(41, lines.Length);
        Assert.Equal(130_560 + 40 * 52, lines.Sum(l => l.Split('\t')[1].Split(' ').Length));
        Assert.Equal(expected[bigPeer].Count, lines.Single(l => l.StartsWith(bigPeer, StringComparison.Ordinal)).Split('\t')[1].Split(' ').Length);
    }

    private static string Normalize(string prefix)
    {
        string[] parts = prefix.Split('/');
        return $"{IPAddress.Parse(parts[0])}/{parts[1]}";
    }

    private static string Request(Socket socket, string request)
    {
        socket.Send(Encoding.UTF8.GetBytes(request));
        var reply = new StringBuilder();
        byte[] buffer = new byte[65536];
        while (!reply.ToString().EndsWith("\n\n", StringComparison.Ordinal))
        {
            int n = socket.Receive(buffer);
            if (n == 0)
                break;
            reply.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        return reply.ToString();
    }

    /// <summary>Sends what it can (the server may hang up midway) and returns everything read until EOF.</summary>
    private static string SendIgnoringReset(Socket socket, string request)
    {
        try
        {
            socket.Send(Encoding.UTF8.GetBytes(request));
        }
        catch (SocketException)
        {
            // EPIPE/ECONNRESET: the server stopped reading, its reply is still queued for us
        }
        return SocketText.ReadToEnd(socket);
    }

    private Socket Connect(UapiServer server)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 5000 };
        socket.Connect(new UnixDomainSocketEndPoint(server.SocketPath));
        return socket;
    }

    [Fact]
    public void One_connection_carries_several_requests_including_a_dash_removal()
    {
        using UapiServer server = Start(_temp);
        using Socket socket = Connect(server);
        string key = Convert.ToHexStringLower(RandomNumberGeneratorBytes());
        Assert.Equal("errno=0\n\n", Request(socket, $"set=1\npublic_key={key}\nallowed_ip=10.0.0.0/8\nallowed_ip=10.1.0.0/16\nallowed_ip=fd00::/64\n\n"));
        Assert.Equal("errno=0\n\n", Request(socket, $"set=1\npublic_key={key}\nallowed_ip=-10.0.0.0/8\nallowed_ip=-fd00::/64\n\n"));
        Assert.Equal("10.1.0.0/16", Assert.Single(Assert.Single(_device.Peers).AllowedIps).ToString());

        string get = Request(socket, "get=1\n\n");
        Assert.StartsWith($"public_key={key}\n", get);
        Assert.Contains("allowed_ip=10.1.0.0/16\n", get);
        Assert.DoesNotContain("10.0.0.0/8", get);
        Assert.EndsWith("errno=0\n\n", get);
    }

    /// <summary>
    /// wg(8) opens a connection per command, so a monitor running `wg show` every second makes one a second; each used
    /// to cost a fresh 64 KiB reader and 16 KiB writer of garbage, which the GC left in RSS until its gen0 budget was
    /// spent (docs/RELIABILITY.md, "soak"). The server now reuses them: a connection allocates a few KiB.
    /// </summary>
    [Fact]
    public void A_connection_per_request_leaves_little_garbage()
    {
        using UapiServer server = Start(_temp);
        byte[] request = Encoding.UTF8.GetBytes("get=1\n\n");
        byte[] reply = new byte[4096];
        void OneConnection()
        {
            using Socket s = Connect(server);
            s.Send(request);
            int length = 0;
            while (length < 2 || reply[length - 1] != '\n' || reply[length - 2] != '\n')
            {
                int n = s.Receive(reply, length, reply.Length - length, SocketFlags.None);
                Assert.True(n > 0, "the server hung up before its reply ended");
                length += n;
            }
            Assert.EndsWith("errno=0\n\n", Encoding.ASCII.GetString(reply, 0, length));
        }
        for (int i = 0; i < 5; i++)
            OneConnection(); // warm up: first-use allocations of sockets and threads
        const int Connections = 200;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < Connections; i++)
            OneConnection();
        long perConnection = (GC.GetTotalAllocatedBytes(precise: true) - before) / Connections;
        output.WriteLine($"{perConnection} bytes allocated per connection (client and server)");
        Assert.True(perConnection < 16 * 1024, $"{perConnection} bytes allocated per connection");
    }

    [Theory]
    [InlineData("set=1\nno_equals\n\n", "errno=-71\n\n", true)]
    [InlineData("set=1\nbogus=1\n\n", "errno=-22\n\n", true)]
    [InlineData("set=1\nlisten_port=70000\n\n", "errno=-22\n\n", true)]
    [InlineData("set=1\nprivate_key=zz\n\n", "errno=-22\n\n", true)]
    [InlineData("set=1\npublic_key=00\n\n", "errno=-22\n\n", true)]
    [InlineData("get=1\nx\n", "errno=-22\n\n", false)]
    [InlineData("bogus=1\n\n", "errno=-22\n\n", false)]
    public void Malformed_requests_get_errno_replies_and_change_nothing(string request, string reply, bool connectionStaysUsable)
    {
        using UapiServer server = Start(_temp);
        using Socket socket = Connect(server);
        Assert.Equal(reply, Request(socket, request));
        Assert.Equal(0, _device.SetCalls);
        if (connectionStaysUsable)
        {
            Assert.Equal("errno=0\n\n", Request(socket, "get=1\n\n"));
        }
        else
        {
            Assert.Equal(0, socket.Receive(new byte[16])); // the server hung up
        }
        using Socket another = Connect(server);
        Assert.Equal("errno=0\n\n", Request(another, "get=1\n\n"));
    }

    [Fact]
    public void Bad_input_never_takes_the_server_down()
    {
        using UapiServer server = Start(_temp);
        // A line longer than any UAPI line, a request cut off by EOF, binary garbage: each only ends its connection.
        using (Socket s = Connect(server))
        {
            // wireguard-go's scanner answers EIO to a line it cannot hold; so does the server, then it hangs up.
            Assert.Equal("errno=-5\n\n", SendIgnoringReset(s, "set=1\nallowed_ip=" + new string('1', 100_000) + "\n\n"));
        }
        using (Socket s = Connect(server))
        {
            s.Send(Encoding.UTF8.GetBytes($"set=1\nlisten_port=1234\n"));
            s.Shutdown(SocketShutdown.Send);
            Assert.Equal(0, s.Receive(new byte[16]));
        }
        using (Socket s = Connect(server))
        {
            s.Send(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4096));
            s.Dispose();
        }
        Assert.Equal(0, _device.SetCalls);
        Assert.Equal(0, _device.ListenPort);

        _device.ForcedSetResult = UapiErrno.PortInUse;
        using Socket ok = Connect(server);
        Assert.Equal("errno=-98\n\n", Request(ok, "set=1\nlisten_port=1\n\n"));
        Assert.Equal("errno=0\n\n", Request(ok, "get=1\n\n"));
    }

    [Fact]
    public void Concurrent_connections_are_all_served()
    {
        using UapiServer server = Start(_temp);
        var failures = 0;
        var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
        {
            try
            {
                using Socket s = Connect(server);
                for (int j = 0; j < 20; j++)
                {
                    string key = Convert.ToHexStringLower(RandomNumberGeneratorBytes());
                    if (Request(s, $"set=1\npublic_key={key}\nallowed_ip=10.{i}.{j}.0/24\n\n") != "errno=0\n\n"
                        || !Request(s, "get=1\n\n").EndsWith("errno=0\n\n", StringComparison.Ordinal))
                        Interlocked.Increment(ref failures);
                }
            }
            catch (Exception)
            {
                Interlocked.Increment(ref failures);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(10_000)));
        Assert.Equal(0, failures);
        Assert.Equal(160, _device.Peers.Count);
    }

    [Fact]
    public void The_socket_is_0700_a_stale_one_is_replaced_and_a_live_one_is_not()
    {
        string path = Path.Combine(_temp, _name + ".sock");
        // A socket file nobody listens on, as a killed daemon leaves it (.NET's Socket would unlink it on close).
        Sh.Run("python3", $"-c \"import socket; socket.socket(socket.AF_UNIX).bind('{path}')\"");
        Assert.True(Exists(path));

        using (UapiServer server = Start(_temp))
        {
            Assert.Equal(path, server.SocketPath);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
            Assert.True(server.SocketFileIsOurs);
            var error = Assert.Throws<IOException>(() => Start(_temp));
            Assert.Contains("in use", error.Message);
            using Socket s = Connect(server);
            Assert.Equal("errno=0\n\n", Request(s, "get=1\n\n"));
        }
        Assert.False(Exists(path)); // Dispose removes its socket

        using (UapiServer server = Start(_temp))
        {
            File.Delete(path);
            Assert.False(server.SocketFileIsOurs); // the daemon exits on this, as wireguard-go does
        }
    }

    private static bool Exists(string path) => UapiServer.Identity(path) != (0, 0);

    [RootFact]
    public void The_default_directory_is_0755()
    {
        using UapiServer server = Start();
        UnixFileMode mode = File.GetUnixFileMode(UapiServer.DefaultDirectory);
        Assert.Equal(UnixFileMode.None, mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
        Assert.StartsWith(UapiServer.DefaultDirectory + "/", server.SocketPath);
    }
}
