using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Router.Linux.Uapi;
using Xunit.Abstractions;

namespace Router.Linux.Tests;

/// <summary>
/// What a stalled or abusive local client can do to the UAPI server (issue 20): it cannot make it hold more than its
/// connection limit, cannot hold a connection past the idle timeout, and cannot lock wg out.
/// </summary>
public sealed class UapiServerLimitTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _name = "rtl" + Random.Shared.Next(100000, 999999);
    private readonly string _temp = Directory.CreateTempSubdirectory("uapi-limit-").FullName;
    private readonly FakeUapiDevice _device = new();
    private readonly List<Socket> _clients = [];

    public void Dispose()
    {
        foreach (Socket s in _clients)
            s.Dispose();
        Directory.Delete(_temp, recursive: true);
    }

    private UapiServer Start(int maxConnections, double idleSeconds, double phaseSeconds = 60) =>
        new(_name, _device, _temp, new UapiLimits(maxConnections, TimeSpan.FromSeconds(idleSeconds), TimeSpan.FromSeconds(phaseSeconds)))
        {
            Log = m => output.WriteLine(m),
        };

    private Socket Connect(UapiServer server)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        _clients.Add(socket);
        socket.Connect(new UnixDomainSocketEndPoint(server.SocketPath));
        return socket;
    }

    private static string Get(Socket socket)
    {
        socket.Send("get=1\n\n"u8);
        var reply = new StringBuilder();
        byte[] buffer = new byte[4096];
        while (!reply.ToString().EndsWith("\n\n", StringComparison.Ordinal))
        {
            int n = socket.Receive(buffer);
            if (n == 0)
                break;
            reply.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        return reply.ToString();
    }

    /// <summary>True when the server has closed its end: a read returns EOF (or a reset) instead of timing out.</summary>
    private static bool HungUp(Socket socket, int waitMs)
    {
        socket.ReceiveTimeout = waitMs;
        try
        {
            return socket.Receive(new byte[16]) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
        {
            return false;
        }
    }

    [Fact]
    public void A_line_over_4096_bytes_gets_errno_minus_5_then_a_hang_up()
    {
        using UapiServer server = Start(8, 10);
        foreach (string request in new[]
        {
            "set=1\nendpoint=" + new string('1', 5000) + "\n\n", // inside a set, in one write with its newline
            "get=1" + new string('x', 5000) + "\n\n",             // as the operation line
            "set=1\nlisten_port=" + new string('1', 4097),        // no newline yet: known too long at 4,097 bytes
        })
        {
            using Socket s = Connect(server);
            s.Send(Encoding.ASCII.GetBytes(request));
            Assert.Equal("errno=-5\n\n", SocketText.ReadToEnd(s));
        }
        Assert.Equal(0, _device.SetCalls);
        // 4,096 bytes is still a line (a value that long is merely invalid).
        using Socket ok = Connect(server);
        ok.Send(Encoding.ASCII.GetBytes("set=1\nlisten_port=" + new string('1', 4096 - "listen_port=".Length) + "\n\n"));
        byte[] reply = new byte[64];
        Assert.Equal("errno=-22\n\n", Encoding.ASCII.GetString(reply, 0, ok.Receive(reply)));
    }

    [Fact]
    public void An_idle_connection_and_a_request_cut_off_midway_are_closed_after_the_idle_timeout()
    {
        using UapiServer server = Start(8, 1);
        Socket idle = Connect(server);
        Socket partial = Connect(server);
        partial.Send("set=1\nlisten_port=1234\n"u8); // no blank line: never finished
        Socket used = Connect(server);
        Assert.EndsWith("errno=0\n\n", Get(used)); // then silent between requests

        var watch = Stopwatch.StartNew();
        Assert.True(HungUp(idle, 10_000), "an idle connection stayed open");
        Assert.True(HungUp(partial, 10_000), "a half-sent request kept its connection");
        Assert.True(HungUp(used, 10_000), "a connection idle between requests stayed open");
        output.WriteLine($"closed {watch.ElapsedMilliseconds} ms after the checks began (idle timeout 1 s)");
        Assert.Equal(0, _device.SetCalls);
        Assert.Equal(0, _device.ListenPort);
        Assert.True(Wait.Until(() => server.OpenConnections == 0, 5000));
        Assert.Equal(3, server.TimedOutConnections);

        // A client that keeps talking is not idle, however long it stays.
        Socket busy = Connect(server);
        for (int i = 0; i < 6; i++)
        {
            Assert.EndsWith("errno=0\n\n", Get(busy));
            Thread.Sleep(400);
        }
    }

    [Fact]
    public void A_reply_nobody_reads_is_dropped_after_the_idle_timeout_and_holds_up_no_one()
    {
        using UapiServer server = Start(8, 1);
        // One peer with 40,000 allowed IPs: a get reply of ~1 MB, more than the socket buffers hold.
        var set = new StringBuilder("set=1\npublic_key=").Append(Convert.ToHexStringLower(new byte[32].Select((_, i) => (byte)(i + 1)).ToArray())).Append('\n');
        for (int i = 0; i < 40_000; i++)
            set.Append($"allowed_ip=10.{i >> 8}.{i & 255}.0/24\n");
        using (Socket s = Connect(server))
        {
            s.Send(Encoding.ASCII.GetBytes(set.Append('\n').ToString()));
            byte[] reply = new byte[64];
            Assert.Equal("errno=0\n\n", Encoding.ASCII.GetString(reply, 0, s.Receive(reply)));
        }

        Socket deaf = Connect(server);
        deaf.Send("get=1\n\n"u8); // and never reads the reply
        var watch = Stopwatch.StartNew();
        using Socket other = Connect(server);
        Assert.EndsWith("errno=0\n\n", Get(other)); // the device is not held by the stalled reply
        Assert.True(Wait.Until(() => server.TimedOutConnections >= 1, 10_000), "a reply nobody reads kept its connection");
        output.WriteLine($"a reply nobody read was dropped after {watch.ElapsedMilliseconds} ms (idle timeout 1 s)");
    }

    [Fact]
    public void A_request_that_trickles_in_is_dropped_after_the_phase_timeout()
    {
        using UapiServer server = Start(8, 1, phaseSeconds: 2);
        Socket slow = Connect(server);
        slow.Send("set=1\n"u8);
        var watch = Stopwatch.StartNew();
        bool closed = false;
        for (int i = 0; i < 40 && !closed; i++)
        {
            try
            {
                slow.Send("listen_port=1\n"u8); // progress every 250 ms: never idle
            }
            catch (SocketException)
            {
                closed = true;
                break;
            }
            Thread.Sleep(250);
            closed = server.TimedOutConnections == 1;
        }
        output.WriteLine($"a trickling request was dropped after {watch.ElapsedMilliseconds} ms (phase timeout 2 s, idle 1 s)");
        Assert.True(closed, "a request that never ends kept its connection for 10 s");
        Assert.InRange(watch.ElapsedMilliseconds, 1_500, 9_000);
        Assert.Equal(0, _device.SetCalls);
    }

    [Fact]
    public void Beyond_the_limit_idle_connections_make_room_and_busy_ones_refuse_newcomers()
    {
        using UapiServer server = Start(4, 30);
        var stalled = new List<Socket>();
        for (int i = 0; i < 4; i++)
        {
            stalled.Add(Connect(server));
            Thread.Sleep(20); // distinct ages
        }
        Assert.True(Wait.Until(() => server.OpenConnections == 4, 5000));

        // A fifth client (wg) is served: the longest-idle stalled connection gives way.
        Socket wg = Connect(server);
        Assert.EndsWith("errno=0\n\n", Get(wg));
        Assert.True(HungUp(stalled[0], 5000), "the oldest idle connection was not the one closed");
        Assert.False(HungUp(stalled[3], 300), "a younger idle connection was closed");
        Assert.Equal(1, server.EvictedConnections);

        // Connections inside a request are not evicted: with all four busy, a newcomer is closed at once.
        foreach (Socket s in stalled.Skip(1).Append(wg))
            s.Send("set=1\n"u8);
        Thread.Sleep(200);
        Socket refused = Connect(server);
        Assert.True(HungUp(refused, 5000), "a fifth connection was held while four were busy");
        Assert.Equal(1, server.RefusedConnections);
        Assert.Equal(4, server.OpenConnections);
    }

    [Fact]
    public void Two_thousand_stalled_connections_leave_the_server_serving_within_its_limit()
    {
        using UapiServer server = Start(64, 30);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 2000; i++)
            Connect(server);
        long connectMs = watch.ElapsedMilliseconds;
        Assert.True(Wait.Until(() => server.EvictedConnections + server.RefusedConnections >= 2000 - 64, 20_000),
            $"{server.OpenConnections} open, {server.EvictedConnections} evicted, {server.RefusedConnections} refused");
        Assert.True(server.OpenConnections <= 64, $"{server.OpenConnections} connections open");
        using var wg = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        wg.Connect(new UnixDomainSocketEndPoint(server.SocketPath));
        Assert.EndsWith("errno=0\n\n", Get(wg));
        output.WriteLine($"2,000 connections in {connectMs} ms; {server.OpenConnections} open, {server.EvictedConnections} evicted, {server.RefusedConnections} refused");
    }
}
