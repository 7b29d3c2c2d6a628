using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Router.Daemon.Apply;
using Router.Daemon.Commands;
using Router.Daemon.Config;
using Router.Daemon.Firmware;
using Router.Daemon.Tests.Config;

namespace Router.Daemon.Tests.Apply;

/// <summary>
/// Stalled local clients of the control and status sockets (issue 20): they are dropped after a timeout and never
/// make a real 'routerd apply' or 'routerd show' wait for them.
/// </summary>
public sealed class ControlSocketLimitTests : IDisposable
{
    private readonly ConfigFixture _f = new();
    private readonly List<Socket> _clients = [];

    public void Dispose()
    {
        foreach (Socket s in _clients)
            s.Dispose();
        _f.Dispose();
    }

    private Socket Connect(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 30_000 };
        _clients.Add(s);
        s.Connect(new UnixDomainSocketEndPoint(path));
        return s;
    }

    [Fact]
    public async Task A_stalled_client_neither_holds_up_an_apply_nor_stays_past_10_s()
    {
        var store = new ConfigStore(_f.Dir.File("router.json"));
        store.Write(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid)));
        var running = new RunningConfig();
        running.Offer(store.Load());
        var apply = new ApplyTransaction(store, running, new FakeTarget());
        string socket = _f.Dir.File("control.sock");
        await using var control = ControlSocket.Start(socket, apply);

        Socket stalled = Connect(socket);
        stalled.Send("apply 0\n{"u8); // and then nothing, ever
        Thread.Sleep(200);

        var watch = Stopwatch.StartNew();
        var output = new StringWriter();
        var error = new StringWriter();
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1380"))));
        int status = await Task.Run(() => ApplyCommand.Apply("-", null, output, error, socket, stdin));
        long applyMs = watch.ElapsedMilliseconds;
        Console.WriteLine($"control socket: apply beside a stalled client took {applyMs} ms");
        Assert.True(status == 0, output + error.ToString());
        Assert.True(applyMs < 8_000, $"the apply waited {applyMs} ms for a stalled client"); // it used to wait 30 s

        int read = await Task.Run(() => stalled.Receive(new byte[64])); // EOF once the 10 s read timeout passes
        long droppedMs = watch.ElapsedMilliseconds;
        Console.WriteLine($"control socket: the stalled client was dropped {droppedMs} ms after the apply began");
        Assert.Equal(0, read);
        Assert.InRange(droppedMs, 5_000, 25_000);
    }

    [Fact]
    public void Clients_that_never_read_the_status_do_not_make_the_next_one_wait()
    {
        byte[] big = new byte[4 << 20]; // more than a socket buffer holds: a client that does not read stalls the send
        big.AsSpan().Fill((byte)'x');
        string path = _f.Dir.File("status.sock");
        using var status = StatusSocket.Start(path, () => big);
        for (int i = 0; i < 3; i++)
            Connect(path); // never read
        Thread.Sleep(200);

        var watch = Stopwatch.StartNew();
        Socket reader = Connect(path);
        long total = 0;
        byte[] buffer = new byte[1 << 16];
        int n;
        while ((n = reader.Receive(buffer)) > 0)
            total += n;
        long ms = watch.ElapsedMilliseconds;
        Console.WriteLine($"status socket: {total} bytes read in {ms} ms beside 3 clients that read nothing");
        Assert.Equal(big.Length, total);
        Assert.True(ms < 4_000, $"the status took {ms} ms beside stalled clients"); // it used to take 2 s per stalled client, in turn
    }
}
