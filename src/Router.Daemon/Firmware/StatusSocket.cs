using System.Net.Sockets;
using Router.Daemon.Hosting;

namespace Router.Daemon.Firmware;

/// <summary>
/// A unix stream socket (mode 0600) that answers every connection with the JSON of 'routerd show --json' and closes:
/// names and states come from the daemon, which knows the configuration and the LED model. A few clients are served
/// at once (<see cref="AcceptLoop"/>); one that does not read its answer within 2 s is dropped.
/// </summary>
internal sealed class StatusSocket : IDisposable
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(2);

    private readonly Socket _listener;
    private readonly string _path;
    // Called by several clients at once: it must read only immutable snapshots (it does: the daemon swaps them whole).
    private readonly Func<byte[]> _status;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private StatusSocket(Socket listener, string path, Func<byte[]> status)
    {
        _listener = listener;
        _path = path;
        _status = status;
        _loop = Task.Run(() => AcceptLoop.RunAsync(_listener, _stop.Token, ServeAsync, "status socket"));
    }

    public static StatusSocket Start(string path, Func<byte[]> status)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (File.Exists(path))
            File.Delete(path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        socket.Listen(4);
        return new StatusSocket(socket, path, status);
    }

    private async Task ServeAsync(Socket client)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(SendTimeout);
        await client.SendAsync(_status(), SocketFlags.None, timeout.Token);
        client.Shutdown(SocketShutdown.Both);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose(); // fails the pending accept
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
        _stop.Dispose();
    }
}
