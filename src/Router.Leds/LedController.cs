using System.Device.Gpio;
using System.Diagnostics;

namespace Router.Leds;

/// <summary>
/// Shows link state on LEDs. The engine calls <see cref="Publish"/> once per timer tick with a fresh
/// snapshot; that only stores a reference and wakes the LED thread, so the engine never waits for an LED.
/// The LED thread evaluates the states, plays the patterns, and sleeps until the next step or state change.
/// An LED that cannot be driven is logged once and left dark; the controller and the tunnel carry on.
/// </summary>
public sealed class LedController : IDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(2);

    private readonly LedScheduler _scheduler;
    private readonly Func<TimeSpan> _clock;
    private readonly AutoResetEvent _wake = new(false);
    private readonly Thread? _thread;
    private LinkSnapshot _latest = LinkSnapshot.Empty;
    private volatile bool _stopping;
    private int _disposed;

    /// <summary>
    /// Starts driving the LEDs the options name. Never throws for hardware: problems (invalid options, no GPIO,
    /// no such LED) go to <paramref name="log"/> once each and those LEDs stay dark.
    /// </summary>
    /// <param name="options">The "leds" section of the configuration.</param>
    /// <param name="log">Receives one line per problem or driver choice; may be null.</param>
    public LedController(LedOptions options, Action<string>? log = null)
        : this(options, log, MonotonicNow, gpioFactory: null, boardLedFactory: null, runThread: true)
    {
    }

    /// <summary>The seam for tests: a virtual clock, a test GPIO driver, a fake LED tree, and no thread when <paramref name="runThread"/> is false.</summary>
    internal LedController(
        LedOptions options,
        Action<string>? log,
        Func<TimeSpan> clock,
        Func<GpioController>? gpioFactory,
        Func<string, ILedOutput>? boardLedFactory,
        bool runThread)
    {
        ArgumentNullException.ThrowIfNull(options);
        Action<string> sink = log ?? (_ => { });
        _clock = clock;

        var errors = new List<string>();
        IReadOnlyList<LedBinding> bindings = options.Resolve(errors);
        foreach (string error in errors)
        {
            sink($"leds: ignored: {error}");
        }

        BoardProfiles.TryGet(options.Board ?? string.Empty, out BoardProfile board);
        var gpio = new SharedGpioController(gpioFactory ?? (() => GpioDriverProbe.CreateController(board, sink)));
        var channels = new LedChannel[bindings.Count];
        for (int i = 0; i < channels.Length; i++)
        {
            LedBinding binding = bindings[i];
            ILedOutput output = binding.Kind == LedTargetKind.Gpio
                ? new GpioLedOutput(gpio, binding.Pin, binding.ActiveLow)
                : (boardLedFactory ?? (name => new BoardLedOutput(name)))(binding.SysfsName!);
            channels[i] = new LedChannel(binding, output, sink);
        }

        _scheduler = new LedScheduler(channels);
        if (runThread && channels.Length > 0)
        {
            // A plain background thread rather than a pool timer: a GPIO write stuck in the kernel then holds
            // up only the LEDs, never a pool thread the engine might need.
            _thread = new Thread(RunLedThread) { IsBackground = true, Name = "routerd leds" };
            _thread.Start();
        }
    }

    /// <summary>The default clock for snapshot times: monotonic, unaffected by wall-clock changes.</summary>
    public static TimeSpan MonotonicNow() => Stopwatch.GetElapsedTime(0);

    /// <summary>
    /// Hands the engine's latest view to the LEDs. Cheap and non-blocking (a reference store and an event
    /// signal); call it from the engine's timer, not per packet. The snapshot must not change afterwards.
    /// </summary>
    public void Publish(LinkSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Volatile.Write(ref _latest, snapshot);
        if (_thread is not null && !_stopping)
        {
            _wake.Set();
        }
    }

    /// <summary>Stops the LED thread and gives every LED back: pins released dark, on-board triggers restored.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        if (_thread is null)
        {
            _scheduler.CloseAll();
        }
        else
        {
            _wake.Set();
            // The thread restores the LEDs itself on the way out; if a write hangs, stopping routerd must not.
            _thread.Join(StopTimeout);
        }

        // _wake is deliberately not disposed: a Publish racing with Dispose, or a thread that outlived the
        // join, may still signal it, and an ObjectDisposedException there would hit the engine.
    }

    /// <summary>For tests without the thread: one scheduler pass at the clock's now; returns when the next pass is due.</summary>
    internal TimeSpan? RunOnce() => _scheduler.Run(Volatile.Read(ref _latest), _clock());

    internal IReadOnlyList<LedChannel> Channels => _scheduler.Channels;

    private void RunLedThread()
    {
        try
        {
            while (!_stopping)
            {
                TimeSpan? next = RunOnce();
                TimeSpan wait = next is { } due ? Clamp(due - _clock()) : Timeout.InfiniteTimeSpan;
                _wake.WaitOne(wait);
            }
        }
        finally
        {
            _scheduler.CloseAll();
        }
    }

    private static TimeSpan Clamp(TimeSpan wait) =>
        wait < TimeSpan.Zero ? TimeSpan.Zero : wait > TimeSpan.FromHours(1) ? TimeSpan.FromHours(1) : wait;
}
