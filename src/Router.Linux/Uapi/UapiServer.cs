using System.Net.Sockets;

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
/// Unlike wireguard-go, a client cannot make the daemon grow: connections are served with asynchronous I/O (no thread
/// per connection), at most <see cref="UapiLimits.MaxConnections"/> at once, and one that makes no progress for
/// <see cref="UapiLimits.IdleTimeout"/> is closed (see <see cref="UapiLimits"/>).
/// </remarks>
public sealed partial class UapiServer : IDisposable
{
    public const string DefaultDirectory = "/var/run/wireguard";

    private readonly IUapiDevice _device;
    private readonly UapiLimits _limits;
    private readonly Socket _listener;
    private readonly Task _acceptLoop;
    private readonly Timer _sweeper;
    // One request at a time reaches the device; waiting for it holds no thread.
    private readonly SemaphoreSlim _deviceGate = new(1, 1);
    private readonly Lock _connectionsLock = new();
    // Open connections (guarded by _connectionsLock), never more than _limits.MaxConnections.
    private readonly HashSet<UapiConnection> _connections = [];
    // Buffers of finished connections, for the next ones (guarded by _connectionsLock). wg(8) opens a connection per
    // command, and a fresh 64 KiB reader and 16 KiB writer each time made a `wg show` cost ~160 KiB of garbage.
    private readonly Stack<(UapiLineReader Reader, UapiWriter Writer)> _spare = new();
    private const int MaxSpare = 2;
    // A writer grown by a huge `get` is not kept: its memory goes back when its client leaves.
    private const int MaxSpareWriterCapacity = 256 * 1024;
    private readonly (long Device, long Inode) _identity;
    private volatile bool _closed;

    // Counters (guarded by _connectionsLock) and what the last rate-limited summary said.
    private long _refused;
    private long _evicted;
    private long _timedOut;
    private (long Refused, long Evicted, long TimedOut) _summarized;
    private long _lastSummary = long.MinValue / 2;
    private const long SummaryIntervalMs = 10_000;

    /// <summary>The socket file.</summary>
    public string SocketPath { get; }

    /// <summary>Called with a short message for each failed request (never a secret); null = quiet.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Called at most every 10 s with a summary of refused and timed-out connections; null = <see cref="Log"/>.</summary>
    public Action<string>? Warn { get; init; }

    /// <summary>Connections closed at once because <see cref="UapiLimits.MaxConnections"/> were open and busy.</summary>
    public long RefusedConnections { get { lock (_connectionsLock) return _refused; } }

    /// <summary>Idle connections closed to make room for a newcomer.</summary>
    public long EvictedConnections { get { lock (_connectionsLock) return _evicted; } }

    /// <summary>Connections closed after <see cref="UapiLimits.IdleTimeout"/> without progress.</summary>
    public long TimedOutConnections { get { lock (_connectionsLock) return _timedOut; } }

    /// <summary>Connections open now.</summary>
    public int OpenConnections { get { lock (_connectionsLock) return _connections.Count; } }

    /// <summary>Binds and listens at once (so wg can connect when this returns), then serves asynchronously.</summary>
    public UapiServer(string interfaceName, IUapiDevice device, string directory = DefaultDirectory, UapiLimits? limits = null)
    {
        if (string.IsNullOrEmpty(interfaceName) || interfaceName.Contains('/') || interfaceName.Length >= 16)
            throw new ArgumentException("Not an interface name.", nameof(interfaceName));
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The UAPI socket is a Linux feature here.");
        _device = device;
        _limits = limits ?? UapiLimits.Default;
        if (_limits.MaxConnections < 1 || _limits.IdleTimeout <= TimeSpan.Zero || _limits.PhaseTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(limits));
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        SocketPath = Path.Combine(directory, interfaceName + ".sock");
        _listener = Listen(SocketPath);
        _identity = Identity(SocketPath);
        // A quarter of the timeout between sweeps: a connection is closed between 1 and 1.25 timeouts after it stalled.
        TimeSpan period = TimeSpan.FromMilliseconds(Math.Clamp(_limits.IdleTimeout.TotalMilliseconds / 4, 50, 1000));
        _sweeper = new Timer(static s => ((UapiServer)s!).Sweep(), this, period, period);
        _acceptLoop = AcceptLoopAsync();
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

    private async Task AcceptLoopAsync()
    {
        await Task.Yield(); // the constructor returns at once; the loop runs on the pool
        while (!_closed)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_closed)
                    return;
                await Task.Delay(10); // e.g. EMFILE: do not spin
                continue;
            }
            Admit(connection);
        }
    }

    /// <summary>
    /// Takes a new connection in if there is room, else in place of the connection that has waited longest for a
    /// request (a stalled client must not lock wg out), else closes it at once. Never throws.
    /// </summary>
    private void Admit(Socket socket)
    {
        var connection = new UapiConnection(socket);
        UapiConnection? evicted = null;
        bool admitted = true;
        lock (_connectionsLock)
        {
            if (_closed)
            {
                admitted = false;
            }
            else if (_connections.Count >= _limits.MaxConnections)
            {
                long now = Environment.TickCount64;
                foreach (UapiConnection c in _connections)
                    if (c.State == UapiConnection.Waiting && (evicted is null || c.IdleMilliseconds(now) > evicted.IdleMilliseconds(now)))
                        evicted = c;
                if (evicted is not null && evicted.TryCloseFrom(UapiConnection.Waiting))
                {
                    _connections.Remove(evicted);
                    _evicted++;
                }
                else
                {
                    admitted = false;
                    _refused++;
                }
            }
            if (admitted)
                _connections.Add(connection);
        }
        if (!admitted)
        {
            socket.Dispose();
            Summarize();
            return;
        }
        if (evicted is not null)
            Summarize();
        // Served on the pool, not inline: the accept loop must go on accepting while a request is read or applied.
        ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Server.ServeAsync(state.Connection),
            (Server: this, Connection: connection), preferLocal: false);
    }

    /// <summary>Closes connections that made no progress for the idle timeout (the timer's callback).</summary>
    private void Sweep()
    {
        long now = Environment.TickCount64;
        long idle = (long)_limits.IdleTimeout.TotalMilliseconds;
        long phase = (long)_limits.PhaseTimeout.TotalMilliseconds;
        lock (_connectionsLock)
        {
            foreach (UapiConnection c in _connections)
            {
                int state = c.State;
                if (state == UapiConnection.Working)
                    continue;
                bool stalled = c.IdleMilliseconds(now) >= idle
                    || (state is UapiConnection.Reading or UapiConnection.Writing && c.MillisecondsInState(now) >= phase);
                if (stalled && c.TryCloseFrom(state))
                    _timedOut++; // its serving task removes it
            }
        }
        Summarize(); // also the tail of a burst that ended inside the last interval
    }

    /// <summary>Logs what was refused or dropped since the last summary, at most once every 10 s.</summary>
    private void Summarize()
    {
        string? message = null;
        lock (_connectionsLock)
        {
            long now = Environment.TickCount64;
            (long refused, long evicted, long timedOut) = (_refused - _summarized.Refused, _evicted - _summarized.Evicted, _timedOut - _summarized.TimedOut);
            if (now - _lastSummary < SummaryIntervalMs || refused + evicted + timedOut == 0)
                return;
            _lastSummary = now;
            _summarized = (_refused, _evicted, _timedOut);
            message = $"UAPI: {refused} connection(s) refused with {_limits.MaxConnections} busy, {evicted} idle one(s) " +
                $"closed for newer ones, {timedOut} closed after {_limits.IdleTimeout.TotalSeconds:0.#} s without progress";
        }
        (Warn ?? Log)?.Invoke(message);
    }

    private void Release(UapiConnection connection, UapiLineReader? reader, UapiWriter? writer)
    {
        writer?.Clear();
        reader?.WipeAll();
        connection.Close();
        lock (_connectionsLock)
        {
            _connections.Remove(connection);
            if (reader is not null && writer is not null && _spare.Count < MaxSpare && writer.Capacity <= MaxSpareWriterCapacity)
                _spare.Push((reader, writer));
        }
    }

    private (UapiLineReader Reader, UapiWriter Writer) TakeBuffers()
    {
        lock (_connectionsLock)
        {
            if (_spare.TryPop(out (UapiLineReader, UapiWriter) spare))
                return spare;
        }
        return (new UapiLineReader(), new UapiWriter());
    }

    public void Dispose()
    {
        if (_closed)
            return;
        bool ours = SocketFileIsOurs;
        _closed = true;
        _listener.Dispose(); // fails the pending accept
        _sweeper.Dispose();
        if (ours)
            File.Delete(SocketPath);
        lock (_connectionsLock)
        {
            foreach (UapiConnection connection in _connections)
                connection.Close();
            _connections.Clear();
        }
        _acceptLoop.Wait(TimeSpan.FromSeconds(2));
    }
}
