using System.Net.Sockets;
using System.Security.Cryptography;

namespace Router.Linux.Uapi;

/// <summary>
/// The cross-platform WireGuard configuration socket: a stream AF_UNIX socket at /var/run/wireguard/IFNAME.sock that
/// wg(8) and wg-quick(8) talk to (https://www.wireguard.com/xplatform/). Each connection may carry several requests,
/// connections are served concurrently, and the device sees one request at a time.
/// </summary>
/// <remarks>
/// Like wireguard-go's ipc/uapi_unix.go: the directory is created 0755, the socket is 0700, and a socket file that
/// refuses connections (a dead daemon's) is replaced, while a live one makes the constructor throw. The path is a
/// file path, so it is shared by every network namespace: two daemons in two namespaces need two interface names.
/// </remarks>
public sealed class UapiServer : IDisposable
{
    public const string DefaultDirectory = "/var/run/wireguard";

    // wg sends one line per allowed IP; anything longer than this is not a UAPI line.
    private const int MaxLine = 4096;

    private readonly IUapiDevice _device;
    private readonly Socket _listener;
    private readonly Thread _acceptThread;
    private readonly Lock _deviceLock = new();
    private readonly Lock _connectionsLock = new();
    private readonly HashSet<Socket> _connections = [];
    // Buffers of finished connections, for the next ones (guarded by _connectionsLock). wg(8) opens a connection per
    // command, and a fresh 64 KiB reader and 16 KiB writer each time made a `wg show` cost ~160 KiB of garbage.
    private readonly Stack<(LineReader Reader, UapiWriter Writer)> _spare = new();
    private const int MaxSpare = 2;
    private readonly (long Device, long Inode) _identity;
    private volatile bool _closed;

    /// <summary>The socket file.</summary>
    public string SocketPath { get; }

    /// <summary>Called with a short message for each failed request (never a secret); null = quiet.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Binds and listens at once (so wg can connect when this returns), then serves on background threads.</summary>
    public UapiServer(string interfaceName, IUapiDevice device, string directory = DefaultDirectory)
    {
        if (string.IsNullOrEmpty(interfaceName) || interfaceName.Contains('/') || interfaceName.Length >= 16)
            throw new ArgumentException("Not an interface name.", nameof(interfaceName));
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The UAPI socket is a Linux feature here.");
        _device = device;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        SocketPath = Path.Combine(directory, interfaceName + ".sock");
        _listener = Listen(SocketPath);
        _identity = Identity(SocketPath);
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = $"uapi-{interfaceName}" };
        _acceptThread.Start();
    }

    /// <summary>
    /// False once our socket file was removed or replaced (wireguard-go exits then; the daemon should poll this).
    /// </summary>
    public bool SocketFileIsOurs => !_closed && Identity(SocketPath) == _identity;

    private static Socket Listen(string path)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException();
        var endpoint = new UnixDomainSocketEndPoint(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            try
            {
                listener.Bind(endpoint);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                if (IsAlive(endpoint))
                    throw new IOException($"{path} is in use by a running daemon.", e);
                File.Delete(path); // stale: its daemon is gone
                listener.Bind(endpoint);
            }
            // 0700 as wireguard-go's umask(077) gives; until now the file had umask 022 (0755), which grants
            // nobody but the owner the write permission that connect(2) needs, so there is no window.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            listener.Listen(16);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private static bool IsAlive(UnixDomainSocketEndPoint endpoint)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false; // ECONNREFUSED: nobody listens
        }
    }

    /// <summary>(st_dev, st_ino) of the path, or zeros when it is gone.</summary>
    internal static unsafe (long, long) Identity(string path)
    {
        // st_dev and st_ino lead struct stat on every 64-bit Linux ABI; the rest of the layout differs, so it is skipped.
        byte* buffer = stackalloc byte[256];
        if (Interop.Libc.Stat(path, buffer) != 0)
            return (0, 0);
        return (*(long*)buffer, *(long*)(buffer + 8));
    }

    private void AcceptLoop()
    {
        while (!_closed)
        {
            Socket connection;
            try
            {
                connection = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_closed)
                    return;
                Thread.Sleep(10); // e.g. EMFILE: do not spin
                continue;
            }
            lock (_connectionsLock)
            {
                if (_closed)
                {
                    connection.Dispose();
                    return;
                }
                _connections.Add(connection);
            }
            new Thread(() => Serve(connection)) { IsBackground = true, Name = "uapi-connection" }.Start();
        }
    }

    private void Serve(Socket connection)
    {
        (LineReader reader, UapiWriter writer) = TakeBuffers();
        reader.Attach(connection);
        try
        {
            while (!_closed && reader.TryReadLine(out ReadOnlySpan<byte> operation))
            {
                bool keepOpen;
                if (operation.SequenceEqual("get=1"u8))
                    keepOpen = HandleGet(reader, writer);
                else if (operation.SequenceEqual("get=drops"u8))
                    keepOpen = HandleGet(reader, writer, drops: true);
                else if (operation.SequenceEqual("set=1"u8))
                    keepOpen = HandleSet(reader, writer);
                else
                {
                    // wireguard-go just hangs up; an errno first tells a human with socat what went wrong.
                    Log?.Invoke("UAPI: unknown operation");
                    Reply(writer, UapiErrno.Invalid);
                    keepOpen = false;
                }
                connection.Send(writer.Written);
                writer.Clear();
                reader.Wipe();
                if (!keepOpen)
                    break;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            // The client went away.
        }
        finally
        {
            writer.Clear();
            reader.WipeAll();
            lock (_connectionsLock)
            {
                _connections.Remove(connection);
                if (_spare.Count < MaxSpare)
                    _spare.Push((reader, writer));
            }
            connection.Dispose();
        }
    }

    private (LineReader Reader, UapiWriter Writer) TakeBuffers()
    {
        lock (_connectionsLock)
        {
            if (_spare.TryPop(out (LineReader, UapiWriter) spare))
                return spare;
        }
        return (new LineReader(), new UapiWriter());
    }

    private bool HandleGet(LineReader reader, UapiWriter writer, bool drops = false)
    {
        // get=1 is followed by exactly one blank line.
        if (!reader.TryReadLine(out ReadOnlySpan<byte> blank))
            throw new IOException("EOF inside a get request");
        if (!blank.IsEmpty)
        {
            Log?.Invoke("UAPI: trailing data after a get");
            Reply(writer, UapiErrno.Invalid);
            return false;
        }
        int errno = UapiErrno.Ok;
        lock (_deviceLock)
        {
            try
            {
                if (drops)
                    _device.GetDrops(writer);
                else
                    _device.Get(writer);
            }
            catch (Exception e)
            {
                Log?.Invoke($"UAPI: get failed: {e.Message}");
                writer.Clear();
                errno = UapiErrno.IO;
            }
        }
        Reply(writer, errno);
        return true;
    }

    private bool HandleSet(LineReader reader, UapiWriter writer)
    {
        var parser = new UapiParser();
        while (true)
        {
            if (!reader.TryReadLine(out ReadOnlySpan<byte> line))
            {
                // EOF before the blank line: an incomplete request is not applied.
                parser.Abandon();
                throw new IOException("EOF inside a set request");
            }
            if (line.IsEmpty)
                break;
            parser.ParseLine(line);
        }
        int errno = parser.Error;
        if (errno != 0)
        {
            parser.Abandon();
            Log?.Invoke($"UAPI: set rejected ({errno}): {parser.ErrorMessage}");
        }
        else
        {
            using UapiSetRequest request = parser.Finish();
            lock (_deviceLock)
            {
                try
                {
                    errno = _device.Set(request);
                }
                catch (Exception e)
                {
                    Log?.Invoke($"UAPI: set failed: {e.Message}");
                    errno = UapiErrno.Unknown;
                }
            }
        }
        Reply(writer, errno);
        return true;
    }

    private static void Reply(UapiWriter writer, int errno)
    {
        writer.WriteRaw("errno="u8);
        Span<byte> digits = stackalloc byte[12];
        System.Buffers.Text.Utf8Formatter.TryFormat(errno, digits, out int length);
        writer.WriteRaw(digits[..length]);
        writer.WriteRaw("\n\n"u8);
    }

    public void Dispose()
    {
        if (_closed)
            return;
        bool ours = SocketFileIsOurs;
        _closed = true;
        _listener.Dispose(); // unblocks Accept
        if (ours)
            File.Delete(SocketPath);
        lock (_connectionsLock)
        {
            foreach (Socket connection in _connections)
                connection.Dispose();
            _connections.Clear();
        }
        _acceptThread.Join(TimeSpan.FromSeconds(2));
    }

    /// <summary>Buffered '\n'-terminated lines from a socket; lines are spans into the buffer, valid until the next read.</summary>
    /// <remarks>Reused: <see cref="Attach"/> gives it the next connection's socket.</remarks>
    private sealed class LineReader
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private Socket? _socket;
        private int _start;
        private int _end;

        public void Attach(Socket socket)
        {
            _socket = socket;
            _start = _end = 0;
        }

        public bool TryReadLine(out ReadOnlySpan<byte> line)
        {
            while (true)
            {
                int newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    line = _buffer.AsSpan(_start, newline);
                    _start += newline + 1;
                    return true;
                }
                if (_end - _start > MaxLine)
                    throw new IOException("UAPI line too long");
                if (_start > 0)
                {
                    // Move the partial line to the front and wipe the rest (it may have held a key).
                    _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                    _end -= _start;
                    _start = 0;
                    CryptographicOperations.ZeroMemory(_buffer.AsSpan(_end));
                }
                int received = _socket!.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
                if (received == 0)
                {
                    line = default;
                    return false;
                }
                _end += received;
            }
        }

        /// <summary>Wipes the consumed part of the buffer (after a request: it may have carried secrets).</summary>
        public void Wipe() => CryptographicOperations.ZeroMemory(_buffer.AsSpan(0, _start));

        /// <summary>Wipes everything, unread bytes included, and lets go of the socket (the connection is over).</summary>
        public void WipeAll()
        {
            CryptographicOperations.ZeroMemory(_buffer);
            _socket = null;
            _start = _end = 0;
        }
    }
}
