using System.Runtime.InteropServices;
using Router.Daemon.Apply;
using Router.Daemon.Config;
using Router.Daemon.Hosting;
using Router.Daemon.Metrics;
using Router.Daemon.State;
using Router.Daemon.Systemd;
using Router.Leds;
using Router.Tunnel;

namespace Router.Daemon.Firmware;

/// <summary>
/// <c>routerd run</c>: the composition root of the firmware mode. Imports a changed seed, loads and validates the
/// file, brings every interface up, and keeps it in line with the file: hot reload on change and SIGHUP (only the
/// difference reaches the engine), 'routerd apply'/'confirm' over the control socket (the daemon owns the rollback),
/// LEDs fed every engine tick, sd_notify, metrics. A bad file never takes it down: it logs every problem, shows the
/// error on the LEDs, says in its systemd status why it waits, and comes up when a valid file appears.
/// </summary>
internal sealed class FirmwareDaemon : IConfigTarget
{
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan SessionLifetime = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan RekeyTimeout = TimeSpan.FromSeconds(5);
    // A deleted interface is recreated after 0.25 s, then 0.5, 1, 2, ... at most 30 s apart while that keeps failing.
    private static readonly TimeSpan RecreateFirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RecreateMaxDelay = TimeSpan.FromSeconds(30);
    // SIGTERM stops routerd within 2 s whatever a reload or an apply is doing: it waits at most this long, in all,
    // for them (and the watchdog, the control socket) before it deletes the interfaces and exits.
    private static readonly TimeSpan StopWaitBudget = TimeSpan.FromMilliseconds(1000);

    private readonly string _configPath;
    private readonly ConfigStore _store;
    private readonly RunningConfig _running = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, InterfaceRunner> _runners = new(StringComparer.Ordinal);
    private readonly Leds _leds = new();
    private readonly SdNotify? _notify = SdNotify.FromEnvironment();
    private readonly TaskCompletionSource<string> _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile InterfaceRunner[] _runnerList = [];
    private volatile bool _fileValid;
    private volatile bool _ledsFromRawFile;
    private bool _nftTable;
    private volatile IReadOnlyList<PeerStatus> _status = [];
    private volatile IReadOnlyList<InterfaceInfo> _interfaces = [];
    private readonly FirewallPorts _firewall = FirewallPorts.ForStatusSocket(FirmwarePaths.StatusSocket);

    /// <summary>What `show` says about the configuration file when it is not simply running (null: it is).</summary>
    private volatile string? _configurationNote;
    private volatile MetricsSnapshot _metricsSnapshot = new([]);
    private long _lastTick = Environment.TickCount64;
    private int _ticking;
    private TimestampFloor? _floor;
    private ITimestampSource? _timestamps;
    private MetricsServer? _metrics;
    private ConfigWatcher? _watcher;

    public FirmwareDaemon(string configPath)
    {
        _configPath = Path.GetFullPath(configPath);
        _store = new ConfigStore(_configPath);
    }

    public int Run()
    {
        Log.Info($"routerd firmware mode, configuration {_configPath}");
        ImportSeed();

        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStopSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStopSignal);
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            c.Cancel = true;
            _ = Task.Run(() => ReloadAsync("SIGHUP"));
        });

        // Watch before the first load, so a file that appears meanwhile is not missed (reloads are serialised).
        Directory.CreateDirectory(Path.GetDirectoryName(_configPath)!);
        // Key files are added to the watch by each load (ReloadAsync), so a restored or rotated key needs no SIGHUP.
        using var watcher = new ConfigWatcher(_configPath, path => _ = Task.Run(() => ReloadAsync(path == _configPath ? "file changed" : $"{path} changed")));
        _watcher = watcher;
        // An apply the previous run left waiting for its confirm was never confirmed: roll it back before loading.
        var recovered = ApplyTransaction.RecoverPending(_store);
        // A SIGTERM during the first load is not kept waiting for it either.
        Task.WaitAny(ReloadAsync("start"), _stop.Task);
        var apply = new ApplyTransaction(_store, _running, this) { ProbeTimeout = FirmwarePaths.ProbeTimeout, SshConfirmWindow = FirmwarePaths.SshConfirmWindow, Recovered = recovered };
        ControlSocket? control = null;
        StatusSocket? status = null;
        try
        {
            control = ControlSocket.Start(FirmwarePaths.ControlSocket, apply);
            status = StatusSocket.Start(FirmwarePaths.StatusSocket, () => PeerStatusFormat.Json(_status, DateTimeOffset.UtcNow, DropsByInterface(_metricsSnapshot), _configurationNote, _interfaces, apply.Last));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException)
        {
            Log.Error($"control/status socket ({FirmwarePaths.ControlSocket}, {FirmwarePaths.StatusSocket}): {e.Message.TrimEnd('.')}; 'routerd apply' and 'show' will not reach this daemon");
        }
        using var tick = new Timer(_ => Tick(), null, TimeSpan.Zero, TickInterval);
        using var watchdogStop = new CancellationTokenSource();
        Task watchdog = Task.CompletedTask;
        if (_notify is not null && SdNotify.WatchdogInterval() is TimeSpan interval)
            watchdog = _notify.RunWatchdogAsync(interval, Healthy, watchdogStop.Token);

        _notify?.Ready(StatusLine());
        string reason = _stop.Task.GetAwaiter().GetResult();

        Log.Info($"shutting down: {reason}");
        _notify?.Stopping($"stopping: {reason}");
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan Left() => TimeSpan.FromTicks(Math.Max(0, (StopWaitBudget - stopping.Elapsed).Ticks));
        watchdogStop.Cancel();
        tick.Change(Timeout.Infinite, Timeout.Infinite);
        status?.Dispose();
        bool controlStopped = control is null || TaskWait.Within(control.DisposeAsync().AsTask(), Left(), "control socket");
        TaskWait.Within(watchdog, Left(), "watchdog");
        // A reload or apply still holding the gate is abandoned: the process exits under it, and deleting the
        // interfaces it may be changing is what stopping means anyway.
        bool gated = _gate.Wait(Left());
        if (!gated || !controlStopped)
            Log.Error($"stopping without waiting for {(gated ? "an apply" : "a reload or apply")} still in progress ({stopping.ElapsedMilliseconds} ms)");
        _leds.Dispose(); // hands the on-board LEDs back with their triggers
        foreach (var runner in _runnerList)
        {
            try
            {
                runner.Dispose();
                Log.Info($"{runner.Name}: deleted");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.Error($"{runner.Name}: stopping: {e.Message}");
            }
        }
        if (_nftTable)
            Forwarding.Remove();
        if (_metrics is not null)
            TaskWait.Within(_metrics.DisposeAsync().AsTask(), TimeSpan.FromMilliseconds(500), "metrics");
        _running.Current?.Dispose();
        _notify?.Dispose();
        return 0;
    }

    private void OnStopSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.TrySetResult($"received {context.Signal}");
    }

    private void ImportSeed()
    {
        if (FirmwarePaths.Seed is not string seed)
            return;
        string marker = Path.Combine(Path.GetDirectoryName(_configPath)!, Path.GetFileName(SeedImport.DefaultMarkerPath));
        try
        {
            var result = new SeedImport(seed, _store, marker).Run();
            switch (result.Outcome)
            {
                case SeedImportOutcome.Imported:
                    Log.Info($"seed {seed} imported into {_configPath} (the previous file is {_store.PreviousPath})");
                    break;
                case SeedImportOutcome.Invalid:
                    foreach (var p in result.Problems.Where(p => p.IsError))
                        Log.Error($"seed {seed}: {p}");
                    Log.Error($"seed {seed} not imported; {_configPath} stays in force");
                    break;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Error($"seed {seed}: {e.Message}");
        }
    }

    /// <summary>Reloads the file: a valid one is applied as a difference, an invalid one leaves everything running.</summary>
    public async Task ReloadAsync(string why)
    {
        await _gate.WaitAsync();
        try
        {
            if (why != "start")
                _notify?.Reloading($"reloading ({why})");
            var keyFiles = new KeyFilesRead(KeyFile.System);
            var loaded = _store.Load(keyFiles);
            if (keyFiles.Paths.Count > 0) // none read: the file did not parse that far; keep watching the last ones
                _watcher?.Watch(keyFiles.Paths);
            foreach (var p in loaded.Problems)
            {
                if (p.IsError)
                    Log.Error($"{_configPath}: {p}");
                else
                    Log.Info($"{_configPath}: {p}");
            }
            if (loaded.HasErrors)
            {
                _fileValid = false;
                string summary = loaded.Summary(_configPath);
                if (keyFiles.Failed.Count > 0)
                    summary += $"; {string.Join(", ", keyFiles.Failed.Distinct())} read again as soon as it changes (no SIGHUP needed)";
                _configurationNote = _running.Current is null
                    ? $"waiting for a valid configuration: {summary}"
                    : $"running configuration OK; the file on disk was refused: {summary}";
                if (_running.Current is null)
                {
                    Log.Error($"waiting for a valid configuration ({summary})");
                    if (!_ledsFromRawFile && Leds.OptionsFromRaw(_configPath) is LedOptions raw)
                    {
                        _leds.Configure(raw);
                        _ledsFromRawFile = true;
                    }
                    _notify?.Ready($"waiting for a valid configuration: {summary}");
                }
                else
                {
                    Log.Error($"{why}: the new file was refused, the running configuration stays ({summary})");
                    _notify?.Ready($"running the previous configuration; {summary}");
                }
                return;
            }
            _fileValid = true;
            _configurationNote = null;
            var outcome = _running.Offer(loaded);
            if (outcome.Diff!.IsEmpty)
            {
                Log.Verbose($"{why}: no difference from the running configuration");
            }
            else
            {
                var errors = await ApplyCoreAsync(loaded.Config!, outcome.Diff);
                _lastApply = new ApplyRecord(DateTimeOffset.UtcNow, errors.Count == 0);
                foreach (var e in errors)
                    Log.Error(e);
                if (errors.Count == 0)
                    Log.Info($"{why}: configuration applied");
                else
                    Log.Error($"{why}: configuration not fully applied ({errors.Count} error(s) above); {StatusLine()}");
            }
            outcome.Replaced?.Dispose();
            _notify?.Ready(StatusLine());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.Error($"{why}: reload failed: {e.Message}");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>IConfigTarget: used by 'routerd apply' (and its rollback); throws when a part could not be applied.</summary>
    public async Task ApplyAsync(RouterConfig config, ConfigDiff diff, CancellationToken cancel)
    {
        await _gate.WaitAsync(cancel);
        try
        {
            _fileValid = true;
            var errors = await ApplyCoreAsync(config, diff);
            _lastApply = new ApplyRecord(DateTimeOffset.UtcNow, errors.Count == 0);
            if (errors.Count > 0)
                throw new InvalidOperationException(string.Join("; ", errors));
            _notify?.Status(StatusLine());
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task<List<string>> ApplyCoreAsync(RouterConfig config, ConfigDiff diff)
    {
        var errors = new List<string>();
        foreach (var removed in diff.InterfacesRemoved)
        {
            if (_runners.Remove(removed.Name, out var runner))
            {
                runner.Dispose();
                Log.Info($"{removed.Name}: removed from the configuration, deleted");
            }
        }
        foreach (var change in diff.InterfacesChanged)
        {
            var iface = config.Interface(change.Name)!;
            if (!_runners.TryGetValue(change.Name, out var runner))
            {
                StartInterface(iface, errors); // it failed to come up before: try again
                continue;
            }
            try
            {
                runner.Apply(iface, change);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                errors.Add($"{change.Name}: {e.Message}");
            }
        }
        foreach (var added in diff.InterfacesAdded)
            StartInterface(added, errors);
        _runnerList = _runners.Values.ToArray();

        if (diff.ForwardingChanged || diff.InterfacesAdded.Count > 0 || diff.InterfacesRemoved.Count > 0)
        {
            Forwarding.ApplySysctls(config.Forwarding);
            string? ruleset = Forwarding.Ruleset(config.Forwarding, _runners.Keys);
            if (ruleset is not null || _nftTable)
            {
                if (Forwarding.ApplyRuleset(ruleset))
                    _nftTable = ruleset is not null;
                else
                    errors.Add("nftables ruleset not applied");
            }
        }
        if (_firewall.Apply(_runners.Values.Select(r => (int)r.Device.ListenPort)) is { } firewallError)
            errors.Add(firewallError);
        if (diff.LedsChanged || _ledsFromRawFile)
        {
            _ledsFromRawFile = false;
            _leds.Configure(Leds.Options(config.Leds));
        }
        if (diff.MetricsChanged)
            RestartMetrics(config.Metrics);
        if (diff.StateChanged && diff.InterfacesAdded.Count == 0 && _floor is not null)
            Log.Info("state.timestampFloorFile changed: takes effect at the next start");
        return Task.FromResult(errors);
    }

    private void StartInterface(InterfaceConfig iface, List<string> errors)
    {
        try
        {
            _runners[iface.Name] = InterfaceRunner.Start(iface, Timestamps());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            errors.Add($"{iface.Name}: cannot bring up: {e.Message}");
        }
    }

    /// <summary>
    /// Brings back an interface that vanished under the running daemon (ip link del, an engine fault): the file still
    /// says it should exist, so it is rebuilt from the running configuration, retried with backoff while that fails.
    /// Gives up only when the interface left the configuration or the daemon stops.
    /// </summary>
    private async Task RecreateAsync(InterfaceRunner runner)
    {
        Log.Error($"{runner.Name}: lost; recreating it from the configuration");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan delay = RecreateFirstDelay;
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                await Task.Delay(delay);
                if (_stop.Task.IsCompleted)
                    return;
                await _gate.WaitAsync();
                try
                {
                    if (_stop.Task.IsCompleted || !_runners.TryGetValue(runner.Name, out var current) || current != runner)
                        return; // removed or replaced by a reload meanwhile
                    runner.Recreate(Timestamps());
                    Log.Info($"{runner.Name}: recreated {watch.ElapsedMilliseconds} ms after it was lost (attempt {attempt}): addresses, routes and {runner.Config.Peers.Count} peer(s) restored");
                    _notify?.Status(StatusLine());
                    return;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, RecreateMaxDelay.Ticks));
                    Log.Error($"{runner.Name}: cannot recreate (attempt {attempt}): {e.Message}; next try in {delay.TotalSeconds:0.##} s");
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        finally
        {
            runner.EndRecovery();
        }
    }

    private ITimestampSource? Timestamps()
    {
        if (_timestamps is null && _running.Current is RouterConfig config)
        {
            _floor = new TimestampFloor(config.State.TimestampFloorFile);
            _timestamps = new FloorTimestamps(_floor);
        }
        return _timestamps;
    }

    private sealed class FloorTimestamps(TimestampFloor floor) : ITimestampSource
    {
        public void WriteTai64N(Span<byte> destination12) => floor.NextTai64N(destination12);
    }

    private void RestartMetrics(MetricsConfig metrics)
    {
        if (_metrics is not null)
            TaskWait.Within(_metrics.DisposeAsync().AsTask(), TimeSpan.FromSeconds(2), "metrics");
        _metrics = null;
        if (!metrics.Enabled)
            return;
        try
        {
            _metrics = MetricsServer.Start(metrics, () => _metricsSnapshot);
            Log.Info($"metrics on {metrics.Listen}");
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ArgumentException)
        {
            Log.Error($"metrics: cannot listen on {metrics.Listen}: {e.Message}");
        }
    }

    private bool Healthy()
        => Environment.TickCount64 - Interlocked.Read(ref _lastTick) < 5000 && !_runnerList.Any(r => r.Lost);

    private string StatusLine()
    {
        var runners = _runnerList;
        if (_running.Current is null)
            return "waiting for a valid configuration";
        int peers = runners.Sum(r => r.Config.Peers.Count);
        int configured = _running.Current.Interfaces.Count;
        string down = configured > runners.Length ? $" ({configured - runners.Length} of {configured} configured could not be brought up)" : "";
        return $"{runners.Length} interface(s){down}, {peers} peer(s){(_fileValid ? "" : "; the file on disk is invalid, the previous configuration runs")}";
    }

    /// <summary>Every engine tick: LEDs, endpoint re-resolution, the data behind show and metrics.</summary>
    private void Tick()
    {
        if (Interlocked.Exchange(ref _ticking, 1) != 0)
            return;
        try
        {
            Interlocked.Exchange(ref _lastTick, Environment.TickCount64);
            var runners = _runnerList;
            if (_running.Current is null)
            {
                _leds.Publish(Leds.ConfigError());
                _metricsSnapshot = new MetricsSnapshot([], ConfigMetrics());
                return;
            }
            DateTime wallNow = DateTime.UtcNow;
            TimeSpan monoNow = LedController.MonotonicNow();
            var tunnels = new List<TunnelSnapshot>(runners.Length);
            var status = new List<PeerStatus>();
            var interfaces = new List<InterfaceInfo>();
            var metrics = new List<InterfaceMetrics>(runners.Length);
            var health = new List<PeerHealthSample>();
            _rejectedTotals.BeginTick();
            foreach (var runner in runners)
            {
                if (runner.Lost && runner.TryBeginRecovery())
                    _ = Task.Run(() => RecreateAsync(runner));
                DeviceSnapshot snap;
                try
                {
                    snap = runner.Device.Snapshot();
                }
                catch (ObjectDisposedException)
                {
                    // Between teardown and a successful recreate: the interface is lost, its peers are down.
                    tunnels.Add(new TunnelSnapshot(runner.Name, InterfaceStatus.Lost, _fileValid, []));
                    interfaces.Add(new InterfaceInfo(runner.Name, null, 0));
                    continue;
                }
                snap.PrivateKey?.Clear();
                interfaces.Add(new InterfaceInfo(runner.Name, snap.PublicKey?.ToBase64(), snap.ListenPort));
                runner.ResolveEndpoints(snap, wallNow);
                var config = runner.Config;
                var ledPeers = new List<Router.Leds.PeerSnapshot>(config.Peers.Count);
                var peerMetrics = new List<PeerMetrics>(config.Peers.Count);
                var pairs = new List<(Router.Daemon.Config.PeerConfig Config, Router.Tunnel.PeerSnapshot? Engine)>();
                foreach (var p in config.Peers)
                {
                    var key = DeviceConfigs.Key(p.PublicKey);
                    var s = snap.Peers.FirstOrDefault(x => x.PublicKey == key);
                    pairs.Add((p, s));
                    if (s is null)
                        continue;
                    ledPeers.Add(Leds.Peer(p.Name, s, wallNow, monoNow));
                }
                var tunnel = new TunnelSnapshot(runner.Name, runner.Lost ? InterfaceStatus.Lost : InterfaceStatus.Present, _fileValid, ledPeers);
                tunnels.Add(tunnel);
                var rejected = PeerHealthLog.Rejected.From(runner.Device);
                foreach (var (p, s) in pairs)
                {
                    if (s is not null)
                        health.Add(PeerHealthLog.Sample(runner.Name, p.Name, p.PublicKey.ToString(), s, rejected, wallNow, monoNow));
                    peerMetrics.Add(PeerMetricsOf(runner.Name, p, s, rejected));
                    string state = s is null
                        ? "down"
                        : LinkStateModel.Evaluate(tunnel, Leds.Peer(p.Name, s, wallNow, monoNow), monoNow).ToString().ToLowerInvariant();
                    status.Add(new PeerStatus(runner.Name, p.Name, p.PublicKey.ToString(), s?.Endpoint is { } ep ? EndpointText(ep) : p.Endpoint?.ToString(),
                        s?.LastHandshake is { } h ? new DateTimeOffset(h, TimeSpan.Zero) : null, s?.RxBytes ?? 0, s?.TxBytes ?? 0, state,
                        string.Join(", ", p.AllowedIps), p.PersistentKeepalive,
                        s is null ? "not in the running tunnel (the log says why it could not be applied)" : null));
                }
                long[] drops = new long[DropCounters.Count];
                runner.Device.CopyDropsTo(drops);
                var byReason = new Dictionary<string, long>(StringComparer.Ordinal);
                for (int i = 0; i < drops.Length; i++)
                {
                    if (drops[i] != 0)
                        byReason[((DropReason)i).ToString()] = drops[i];
                }
                metrics.Add(new InterfaceMetrics(runner.Name, peerMetrics, byReason));
                foreach (var s in snap.Peers)
                    s.PresharedKey?.Clear();
            }
            _health.Update(health, monoNow);
            // The reason a peer is down, from this tick's health verdict (the same words as its log line).
            for (int i = 0; i < status.Count; i++)
            {
                if (status[i].DownReason is null && _health.DownReason(status[i].Interface, status[i].PublicKey) is { } reason)
                    status[i] = status[i] with { DownReason = reason };
            }
            _status = status;
            _interfaces = interfaces;
            _rejectedTotals.EndTick();
            _metricsSnapshot = new MetricsSnapshot(metrics, ConfigMetrics());
            LogDrops(runners);
            _leds.Publish(new LinkSnapshot(tunnels));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.Verbose($"tick: {e.Message}");
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    // Tick thread only: per-peer totals of the rejected handshakes from each peer's endpoint address.
    private readonly RejectedTotals _rejectedTotals = new();

    /// <summary>One configured peer for the metrics; a peer the engine does not have (yet) shows zeros and up 0.</summary>
    private PeerMetrics PeerMetricsOf(string iface, Router.Daemon.Config.PeerConfig p, Router.Tunnel.PeerSnapshot? s, PeerHealthLog.Rejected rejected)
    {
        string key = p.PublicKey.ToString();
        if (s is null)
            return new PeerMetrics(p.Name, key, 0, 0, null);
        var (badMac1, unknownKey) = _rejectedTotals.Observe(iface, key, rejected.BadMac1(s.Endpoint), rejected.UnknownKey(s.Endpoint));
        return new PeerMetrics(p.Name, key, s.RxBytes, s.TxBytes, s.LastHandshake is { } h ? new DateTimeOffset(h, TimeSpan.Zero) : null,
            new HandshakeCounts(s.InitiationsSent, s.HandshakesCompleted, s.HandshakeTimeouts, badMac1, unknownKey), PeerDrops(s.Drops));
    }

    // Only a peer that dropped something costs a dictionary.
    private static Dictionary<string, long>? PeerDrops(DropCounters counters)
    {
        if (counters.Total == 0)
            return null;
        Span<long> counts = stackalloc long[DropCounters.Count];
        counters.CopyTo(counts);
        var byReason = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] != 0)
                byReason[((DropReason)i).ToString()] = counts[i];
        }
        return byReason;
    }

    // Written under _gate by reloads and applies; read by the tick.
    private volatile ApplyRecord? _lastApply;

    private sealed record ApplyRecord(DateTimeOffset At, bool Succeeded);

    private ConfigMetrics ConfigMetrics()
        => new(_fileValid, _running.Current is not null, _lastApply?.At, _lastApply?.Succeeded ?? false);

    // Tick thread only.
    private readonly PeerHealthLog _health = new((error, line) => { if (error) Log.Error(line); else Log.Info(line); });

    private static Dictionary<string, IReadOnlyDictionary<string, long>> DropsByInterface(MetricsSnapshot snapshot)
        => snapshot.Interfaces.ToDictionary(i => i.Name, i => i.DroppedByReason, StringComparer.Ordinal);

    // Tick thread only: one DropSummary per device (a recreated interface has a new device and starts again).
    private readonly Dictionary<Device, DropSummary> _dropLogs = new(ReferenceEqualityComparer.Instance);
    private long _lastDropLog = Environment.TickCount64;

    /// <summary>Each <see cref="DropSummary.Interval"/>, one log line per interface whose drops grew.</summary>
    private void LogDrops(IReadOnlyList<InterfaceRunner> runners)
    {
        long now = Environment.TickCount64;
        if (now - _lastDropLog < (long)DropSummary.Interval.TotalMilliseconds)
            return;
        _lastDropLog = now;
        var live = new HashSet<Device>(ReferenceEqualityComparer.Instance);
        foreach (var runner in runners)
        {
            Device device = runner.Device;
            live.Add(device);
            if (!_dropLogs.TryGetValue(device, out var summary))
                _dropLogs[device] = summary = new DropSummary(device);
            if (summary.Next() is { } line)
                Log.Info($"{runner.Name}: {line}");
        }
        foreach (var gone in _dropLogs.Keys.Where(d => !live.Contains(d)).ToList())
            _dropLogs.Remove(gone);
    }

    private static string EndpointText(Router.Tunnel.IO.Endpoint ep)
    {
        Span<byte> bytes = stackalloc byte[16];
        ep.WriteAddress(bytes);
        var address = new System.Net.IPAddress(bytes);
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return new System.Net.IPEndPoint(address, ep.Port).ToString();
    }

    // ---- IConfigTarget: the rollback rules of 'routerd apply' ----

    public IReadOnlyCollection<PeerRef> UpPeers()
    {
        var up = new List<PeerRef>();
        DateTime now = DateTime.UtcNow;
        foreach (var runner in _runnerList)
        {
            DeviceSnapshot snap;
            try
            {
                snap = runner.Device.Snapshot();
            }
            catch (ObjectDisposedException)
            {
                continue; // being recreated: its peers are not up
            }
            snap.PrivateKey?.Clear();
            foreach (var p in runner.Config.Peers)
            {
                var key = DeviceConfigs.Key(p.PublicKey);
                var s = snap.Peers.FirstOrDefault(x => x.PublicKey == key);
                if (s is not null && (s.HasSession || s.LastHandshake is { } h && now - h < SessionLifetime))
                    up.Add(new PeerRef(runner.Name, p.PublicKey));
            }
        }
        return up;
    }

    public async Task<IReadOnlyList<PeerRef>> ProbeAsync(IReadOnlyList<PeerRef> peers, TimeSpan timeout, CancellationToken cancel)
    {
        if (peers.Count == 0)
            return [];
        DateTime start = DateTime.UtcNow;
        var waiting = new List<PeerRef>(peers);
        Log.Info($"apply: waiting up to {timeout.TotalSeconds:0} s for {string.Join(", ", peers)} to answer a handshake");
        var deadline = DateTime.UtcNow + timeout;
        var sent = new Dictionary<PeerRef, DateTime>();
        _probeCauses.Clear();
        var baseline = peers.ToDictionary(p => p, RejectedFrom);
        while (waiting.Count > 0 && DateTime.UtcNow < deadline)
        {
            foreach (var peer in waiting.ToArray())
            {
                var runner = _runnerList.FirstOrDefault(r => r.Name == peer.Interface);
                if (runner is null)
                    continue;
                var key = DeviceConfigs.Key(peer.PublicKey);
                var s = runner.Device.Snapshot();
                s.PrivateKey?.Clear();
                if (s.Peers.FirstOrDefault(x => x.PublicKey == key)?.LastHandshake is { } h && h > start)
                    waiting.Remove(peer);
                else if (!sent.TryGetValue(peer, out var last) || DateTime.UtcNow - last >= RekeyTimeout)
                {
                    // One initiation per REKEY_TIMEOUT, as the engine's own retries go.
                    runner.Device.InitiateHandshake(key);
                    sent[peer] = DateTime.UtcNow;
                }
            }
            if (waiting.Count > 0)
                await Task.Delay(250, cancel);
        }
        foreach (var peer in waiting)
        {
            // Only what arrived during the probe counts: an old bad mac1 says nothing about the new settings.
            var (endpoint, badMac1, unknownKey) = RejectedFrom(peer);
            var (_, badBefore, unknownBefore) = baseline[peer];
            string name = _runnerList.FirstOrDefault(r => r.Name == peer.Interface)?.Config.Peer(peer.PublicKey)?.Name ?? peer.ToString();
            _probeCauses[peer] = PeerHealthLog.LikelyCause(name, endpoint, badMac1 > badBefore, unknownKey > unknownBefore);
        }
        return waiting;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<PeerRef, string> _probeCauses = new();

    public string? WhySilent(PeerRef peer) => _probeCauses.TryGetValue(peer, out var cause) ? cause : null;

    /// <summary>The peer's endpoint and the engine's counts of rejected handshakes from its address.</summary>
    private (string? Endpoint, long BadMac1, long UnknownKey) RejectedFrom(PeerRef peer)
    {
        var runner = _runnerList.FirstOrDefault(r => r.Name == peer.Interface);
        if (runner is null)
            return (null, 0, 0);
        try
        {
            var key = DeviceConfigs.Key(peer.PublicKey);
            var snap = runner.Device.Snapshot();
            snap.PrivateKey?.Clear();
            var endpoint = snap.Peers.FirstOrDefault(x => x.PublicKey == key)?.Endpoint;
            var rejected = PeerHealthLog.Rejected.From(runner.Device);
            return (endpoint is { } ep ? EndpointText(ep) : null, rejected.BadMac1(endpoint), rejected.UnknownKey(endpoint));
        }
        catch (ObjectDisposedException)
        {
            return (null, 0, 0);
        }
    }
}
