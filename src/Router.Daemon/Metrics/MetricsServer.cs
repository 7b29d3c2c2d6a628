using System.Net;
using System.Net.Sockets;
using System.Text;
using Router.Daemon.Hosting;
using Router.Daemon.Config;

namespace Router.Daemon.Metrics;

/// <summary>
/// A deliberately tiny HTTP/1.0 responder for Prometheus scrapes (HttpListener is not AOT-friendly, Kestrel is far
/// too big): accept, read the request head, answer GET /metrics with the text format, close. One connection at a
/// time with short timeouts, so a stuck client costs nothing but its own scrape. Off unless metrics.enabled.
/// </summary>
internal sealed class MetricsServer : IAsyncDisposable
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(5);
    private const int MaxRequestHead = 4096;

    private readonly Socket _listener;
    private readonly Func<MetricsSnapshot> _snapshot;
    private readonly TimeProvider _time;
    private readonly string? _unixPath;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private MetricsServer(Socket listener, string? unixPath, Func<MetricsSnapshot> snapshot, TimeProvider time)
    {
        _listener = listener;
        _unixPath = unixPath;
        _snapshot = snapshot;
        _time = time;
        _loop = Task.Run(AcceptLoopAsync);
    }

    public EndPoint LocalEndPoint => _listener.LocalEndPoint!;

    /// <summary>Listens where <paramref name="config"/> says; throws SocketException if the address is taken.</summary>
    public static MetricsServer Start(MetricsConfig config, Func<MetricsSnapshot> snapshot, TimeProvider? time = null)
    {
        Socket socket;
        if (config.UnixPath is string path)
        {
            // A socket file left by a previous run would make bind fail.
            if (File.Exists(path))
                File.Delete(path);
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Bind(new UnixDomainSocketEndPoint(path));
        }
        else
        {
            var endpoint = config.TcpEndpoint ?? throw new ArgumentException("metrics has neither a TCP endpoint nor a unix path", nameof(config));
            socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
        }
        socket.Listen(8);
        return new MetricsServer(socket, config.UnixPath, snapshot, time ?? TimeProvider.System);
    }

    // A scraper that hangs up or stalls loses its scrape, nothing else.
    private Task AcceptLoopAsync() => AcceptLoop.RunAsync(_listener, _stop.Token, async client =>
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(ClientTimeout);
        await ServeAsync(client, timeout.Token);
    }, "metrics");

    private async Task ServeAsync(Socket client, CancellationToken cancel)
    {
        byte[] head = new byte[MaxRequestHead];
        int length = 0;
        while (length < head.Length)
        {
            int n = await client.ReceiveAsync(head.AsMemory(length), SocketFlags.None, cancel);
            if (n == 0)
                break;
            length += n;
            if (head.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0 || head.AsSpan(0, length).IndexOf("\n\n"u8) >= 0)
                break;
        }
        string requestLine = Encoding.ASCII.GetString(head, 0, length).Split('\n')[0].TrimEnd('\r');
        string[] parts = requestLine.Split(' ');
        string status;
        string body;
        if (parts.Length < 2 || parts[0] != "GET")
            (status, body) = ("405 Method Not Allowed", "only GET\n");
        else if (parts[1] is not ("/metrics" or "/"))
            (status, body) = ("404 Not Found", "try /metrics\n");
        else
            (status, body) = ("200 OK", PrometheusWriter.Format(_snapshot(), _time.GetUtcNow(), ProcessStats.Read(), Router.Daemon.Commands.VersionCommand.Version));

        byte[] bodyBytes = Encoding.UTF8.GetBytes(body);
        string header = $"HTTP/1.0 {status}\r\nContent-Type: {PrometheusWriter.ContentType}\r\nContent-Length: {bodyBytes.Length}\r\nConnection: close\r\n\r\n";
        await client.SendAsync(Encoding.ASCII.GetBytes(header), SocketFlags.None, cancel);
        await client.SendAsync(bodyBytes, SocketFlags.None, cancel);
        client.Shutdown(SocketShutdown.Send);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
        }
        if (_unixPath is not null && File.Exists(_unixPath))
            File.Delete(_unixPath);
        _stop.Dispose();
    }
}
