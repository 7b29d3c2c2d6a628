using Router.Tunnel.IO;

namespace Router.Tunnel;

// Threaded mode for the daemon: three threads drive the same entry points the tests call.
//
//   tun-read    ITun.Read (blocking batch)   -> HandleTunPackets
//   udp-receive IBind.Receive (blocking)     -> HandleDatagrams   (follows rebinds)
//   timers      every 100 ms                 -> Tick
public sealed partial class Device
{
    private readonly ManualResetEventSlim _stopping = new(false);
    private Thread? _tunThread, _udpThread, _timerThread;

    /// <summary>Raised (on the failing thread) when a worker thread stops on an unexpected exception.</summary>
    public event Action<Exception>? Faulted;

    /// <summary>Binds if needed and starts the three worker threads.</summary>
    public void Start()
    {
        if (_tunThread is not null)
            throw new InvalidOperationException("The device is already running.");
        Bind();
        _tunThread = StartThread("wg-tun-read", TunLoop);
        _udpThread = StartThread("wg-udp-receive", UdpLoop);
        _timerThread = StartThread("wg-timers", TimerLoop);
    }

    /// <summary>
    /// Stops the threads: closes the TUN and the bind (which unblocks their reads) and waits for the threads.
    /// The device cannot be started again.
    /// </summary>
    public void Stop()
    {
        if (_stopping.IsSet)
            return;
        _stopping.Set();
        _tun.Dispose();
        IBind? bind;
        lock (_lock)
        {
            bind = _bind;
            _bind = null;
        }
        bind?.Dispose();
        _tunThread?.Join();
        _udpThread?.Join();
        _timerThread?.Join();
    }

    private Thread StartThread(string name, Action loop)
    {
        var thread = new Thread(() => Run(loop)) { Name = name, IsBackground = true };
        thread.Start();
        return thread;
    }

    private void Run(Action loop)
    {
        try
        {
            loop();
        }
        catch (Exception e) when (!_stopping.IsSet)
        {
            Faulted?.Invoke(e);
        }
        catch (ObjectDisposedException)
        {
            // closed by Stop while blocked
        }
    }

    private void TunLoop()
    {
        var buffers = NewBuffers(_tun.BatchSize);
        while (!_stopping.IsSet)
        {
            foreach (PacketBuffer buffer in buffers)
                buffer.Reset();
            int count = _tun.Read(buffers);
            if (count <= 0)
                return;
            HandleTunPackets(buffers.AsSpan(0, count));
        }
    }

    private void UdpLoop()
    {
        PacketBuffer[] buffers = [];
        while (!_stopping.IsSet)
        {
            IBind? bind = Volatile.Read(ref _bind);
            if (bind is null)
            {
                _stopping.Wait(ImplementationConstants.TimerResolution);
                continue;
            }
            if (buffers.Length != Math.Max(1, bind.BatchSize))
                buffers = NewBuffers(bind.BatchSize);
            foreach (PacketBuffer buffer in buffers)
                buffer.Reset();
            int count;
            try
            {
                count = bind.Receive(buffers);
            }
            catch (ObjectDisposedException)
            {
                continue; // rebound by Configure: pick up the new bind
            }
            if (count <= 0)
            {
                if (ReferenceEquals(bind, Volatile.Read(ref _bind)) && !_stopping.IsSet)
                    _stopping.Wait(ImplementationConstants.TimerResolution); // closed under us; avoid spinning
                continue;
            }
            HandleDatagrams(buffers.AsSpan(0, count));
        }
    }

    private void TimerLoop()
    {
        while (!_stopping.Wait(ImplementationConstants.TimerResolution))
            Tick();
    }

    private static PacketBuffer[] NewBuffers(int count)
    {
        var buffers = new PacketBuffer[Math.Max(1, count)];
        for (int i = 0; i < buffers.Length; i++)
            buffers[i] = new PacketBuffer();
        return buffers;
    }
}
