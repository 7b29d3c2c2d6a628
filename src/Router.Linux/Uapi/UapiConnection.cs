using System.Net.Sockets;

namespace Router.Linux.Uapi;

/// <summary>
/// One accepted UAPI connection and where its request stands. The serving task moves it forward; the idle sweeper
/// and admission may close it, but only from the state they saw (a compare-and-swap), so a connection that has just
/// started its device work is never cut under it.
/// </summary>
internal sealed class UapiConnection(Socket socket)
{
    /// <summary>Between requests, or before the first: nothing owed to the client. Evictable.</summary>
    public const int Waiting = 0;
    /// <summary>Inside a request, reading its lines.</summary>
    public const int Reading = 1;
    /// <summary>Waiting for or doing device work: not idle, whatever the clock says.</summary>
    public const int Working = 2;
    /// <summary>Sending the reply.</summary>
    public const int Writing = 3;
    public const int Closed = 4;

    private int _state = Waiting;
    private long _lastProgress = Environment.TickCount64;
    private long _stateSince = Environment.TickCount64;

    public Socket Socket { get; } = socket;

    public int State => Volatile.Read(ref _state);

    /// <summary>Milliseconds since bytes last moved (or the state last changed).</summary>
    public long IdleMilliseconds(long now) => now - Volatile.Read(ref _lastProgress);

    /// <summary>Milliseconds since the connection entered its current state.</summary>
    public long MillisecondsInState(long now) => now - Volatile.Read(ref _stateSince);

    public void Progress() => Volatile.Write(ref _lastProgress, Environment.TickCount64);

    /// <summary>Moves to <paramref name="next"/>; false once the connection was closed from outside.</summary>
    public bool Enter(int next)
    {
        int current;
        do
        {
            current = Volatile.Read(ref _state);
            if (current == Closed)
                return false;
        }
        while (Interlocked.CompareExchange(ref _state, next, current) != current);
        Volatile.Write(ref _stateSince, Environment.TickCount64);
        Progress();
        return true;
    }

    /// <summary>Closes the connection if it is still in <paramref name="seen"/>; the serving task then ends on its own.</summary>
    public bool TryCloseFrom(int seen)
    {
        if (seen == Closed || Interlocked.CompareExchange(ref _state, Closed, seen) != seen)
            return false;
        Socket.Dispose(); // fails the pending receive or send
        return true;
    }

    /// <summary>Closes it whatever it is doing (the server is shutting down, or the serving task is done).</summary>
    public void Close()
    {
        Volatile.Write(ref _state, Closed);
        Socket.Dispose();
    }
}
