using System.Net.Sockets;

namespace Router.Daemon.Firmware;

/// <summary>
/// A unix stream socket (mode 0600) that answers every connection with the JSON of 'routerd show --json' and closes:
/// names and states come from the daemon, which knows the configuration and the LED model.
/// </summary>
internal sealed class StatusSocket : IDisposable
{
    private readonly Socket _listener;
    private readonly string _path;
    private readonly Func<byte[]> _status;
    private readonly Thread _thread;
    private volatile bool _stopping;

    private StatusSocket(Socket listener, string path, Func<byte[]> status)
    {
        _listener = listener;
        _path = path;
        _status = status;
        _thread = new Thread(Loop) { IsBackground = true, Name = "routerd status" };
        _thread.Start();
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

    private void Loop()
    {
        while (!_stopping)
        {
            try
            {
                using Socket client = _listener.Accept();
                client.SendTimeout = 2000;
                client.Send(_status());
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_stopping)
                    return;
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        try
        {
            _listener.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        _listener.Dispose();
        _thread.Join(2000);
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
    }
}
