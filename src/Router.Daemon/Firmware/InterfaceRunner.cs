using System.ComponentModel;
using System.Net;
using Router.Daemon.Config;
using Router.Daemon.Hosting;
using Router.Linux;
using Router.Linux.Uapi;
using Router.Tunnel;
using ConfigPeer = Router.Daemon.Config.PeerConfig;
using Router.Crypto;

namespace Router.Daemon.Firmware;

/// <summary>
/// One interface of the firmware mode: TUN device, engine, UAPI socket (so wg(8) works), addresses, MTU, a route per
/// peer allowed IP, link up; and the per-peer endpoint resolution state. Applies reload differences in place, removes
/// the addresses and routes it installed that the new configuration no longer has, and can rebuild the whole
/// interface from its configuration when someone deleted it (<see cref="Recreate"/>).
/// </summary>
internal sealed class InterfaceRunner : IDisposable
{
    private const int ESRCH = 3;
    private const int EEXIST = 17;
    private const int EADDRNOTAVAIL = 99;
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    // Swapped by Recreate (under the daemon's gate); readers on other threads see either the old or the new set.
    private volatile Tun _tun;
    private volatile Device _device;
    private volatile UapiServer? _uapi;
    // What this runner put into the kernel: only this is ever deleted again.
    private LinkPlan _installed = LinkPlan.Empty;
    private readonly Lock _resolveLock = new();
    private readonly Dictionary<Router.Daemon.Config.PublicKey, (DateTimeOffset At, IPEndPoint? Address)> _resolved = new();
    private readonly HashSet<Router.Daemon.Config.PublicKey> _resolving = new();
    private volatile bool _lost;
    private bool _tornDown;
    private bool _disposed;

    public string Name { get; }

    /// <summary>The configuration this interface runs now (names for LEDs, logs and show).</summary>
    public InterfaceConfig Config { get; private set; }

    public Device Device => _device;

    /// <summary>The interface vanished under us (ip link del) or the engine faulted: <see cref="Recreate"/> brings it back.</summary>
    public bool Lost => _lost || _tun.IsDeleted;

    // 1 while the daemon is recreating this interface: one recovery at a time.
    private int _recovering;

    /// <summary>Claims the recovery of a lost interface; false when one is already under way.</summary>
    public bool TryBeginRecovery() => Interlocked.Exchange(ref _recovering, 1) == 0;

    public void EndRecovery() => Volatile.Write(ref _recovering, 0);

    private InterfaceRunner(InterfaceConfig config, (Tun Tun, Device Device, UapiServer Uapi) parts)
    {
        Name = config.Name;
        Config = config;
        (_tun, _device, _uapi) = parts;
    }

    public static InterfaceRunner Start(InterfaceConfig config, ITimestampSource? timestamps)
    {
        InterfaceRunner? runner = null;
        var parts = BringUp(config, timestamps, e => runner?.OnTunEvent(e), () => runner);
        try
        {
            runner = new InterfaceRunner(config, parts);
            runner.ConfigureDevice();
            runner.ConfigureLink(config, mtuChanged: true);
            parts.Device.SetUp(TunnelHost.LinkIsUp(parts.Tun)); // up now (ConfigureLink); from here on link events drive it
            Log.Info($"{config.Name}: up with {config.Peers.Count} peer(s), listening on UDP {parts.Device.ListenPort}; UAPI on {parts.Uapi.SocketPath}");
            return runner;
        }
        catch
        {
            parts.Uapi.Dispose();
            parts.Device.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Rebuilds a lost interface from <see cref="Config"/>: a new TUN device and engine with every peer (keys,
    /// allowed IPs, endpoints; sessions handshake again), the UAPI socket, MTU, addresses and routes. Throws when the
    /// interface cannot be created (the caller retries with backoff); the runner stays <see cref="Lost"/> then.
    /// </summary>
    public void Recreate(ITimestampSource? timestamps)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lost = true;
        TearDown();
        _installed = LinkPlan.Empty; // the kernel took them with the interface
        var parts = BringUp(Config, timestamps, OnTunEvent, () => this);
        (_tun, _device, _uapi) = parts;
        _tornDown = false;
        try
        {
            ConfigureDevice();
            ConfigureLink(Config, mtuChanged: true);
            _device.SetUp(TunnelHost.LinkIsUp(_tun));
        }
        catch
        {
            TearDown();
            throw;
        }
        _lost = false;
    }

    /// <summary>TUN, engine (not started) and UAPI socket for one interface; the engine's faults mark the runner lost.</summary>
    private static (Tun Tun, Device Device, UapiServer Uapi) BringUp(InterfaceConfig config, ITimestampSource? timestamps, Action<TunEvent> events, Func<InterfaceRunner?> runner)
    {
        Tun tun = Tun.Create(config.Name, events);
        Device? device = null;
        try
        {
            device = TunnelHost.NewDevice(tun, timestamps);
            device.SetUp(false); // the link is still down: the configuration that follows must not start handshakes yet
            device.Faulted += e =>
            {
                if (runner() is { } r)
                    r._lost = true;
                Log.Error($"{config.Name}: engine fault: {e.Message}");
            };
            return (tun, device, new UapiServer(tun.Name, new UapiDeviceAdapter(device)) { Log = Log.Verbose, Warn = Log.Info });
        }
        catch
        {
            if (device is not null)
                device.Dispose(); // the device owns the TUN
            else
                tun.Dispose();
            throw;
        }
    }

    /// <summary>Identity, port, mark and every peer of <see cref="Config"/> into a fresh engine, then starts it.</summary>
    private void ConfigureDevice()
    {
        var initial = new Dictionary<Router.Daemon.Config.PublicKey, IPEndPoint?>();
        foreach (var p in Config.Peers)
            initial[p.PublicKey] = KnownOrResolve(p);
        var deviceConfig = DeviceConfigs.Full(Config, p => initial[p.PublicKey]);
        try
        {
            _device.Configure(deviceConfig);
        }
        finally
        {
            deviceConfig.ClearSecrets();
        }
        _device.Start();
    }

    /// <summary>The last resolved address (a recreate should not wait on DNS again), else a resolution now.</summary>
    private IPEndPoint? KnownOrResolve(ConfigPeer p)
    {
        lock (_resolveLock)
        {
            if (_resolved.TryGetValue(p.PublicKey, out var known) && known.Address is not null)
                return known.Address;
        }
        return ResolveNow(p);
    }

    private void TearDown()
    {
        if (_tornDown)
            return;
        _tornDown = true;
        _uapi?.Dispose();
        _uapi = null;
        try
        {
            _device.Stop();
        }
        finally
        {
            _device.Dispose(); // closes the TUN: the kernel deletes the interface (if still there) with its addresses and routes
        }
    }

    private void OnTunEvent(TunEvent e)
    {
        if (e is TunEvent.Up or TunEvent.Down or TunEvent.NamespaceChanged)
            TunnelHost.FollowLink(_device, _tun); // ip link set down: no handshakes or keepalives until it is up again
        if (e == TunEvent.NamespaceChanged)
            Log.Info($"{Name}: {TunnelHost.DescribeNamespace(_tun)}");
        if (e == TunEvent.Deleted)
        {
            _lost = true;
            Log.Error($"{Name}: the interface was deleted under the running tunnel");
        }
    }

    /// <summary>
    /// MTU, then the difference between what this runner installed and <see cref="LinkPlan.For"/> the new
    /// configuration: new addresses, new routes, then stale routes and stale addresses go (in that order, so a prefix
    /// moving from a route to an address prefix stays reachable). Unchanged entries are not touched.
    /// </summary>
    private void ConfigureLink(InterfaceConfig config, bool mtuChanged)
    {
        if (!_tun.InCreationNamespace)
        {
            // Whoever moved it there owns its addresses, routes and MTU now (routerd's rtnetlink acts here only).
            Log.Info($"{Name}: the interface is in another network namespace: MTU, addresses and routes left as they are there");
            return;
        }
        using var rt = new Rtnetlink();
        int index = _tun.InterfaceIndex;
        if (mtuChanged)
            _tun.SetMtu(config.Mtu);
        var want = LinkPlan.For(config);
        var addresses = new HashSet<InterfaceAddress>(_installed.Addresses);
        var routes = new HashSet<IPNetwork>(_installed.Routes);
        foreach (var a in want.Addresses.Where(a => !addresses.Contains(a)))
        {
            if (Add(() => rt.AddAddress(index, a.Address, a.PrefixLength), $"address {a}"))
                addresses.Add(a);
        }
        rt.SetUp(index, true);
        foreach (var net in want.Routes.Where(n => !routes.Contains(n)))
        {
            if (Add(() => rt.AddRoute(index, net.BaseAddress, net.PrefixLength), $"route {net}"))
                routes.Add(net);
        }
        foreach (var net in routes.Where(n => !want.Routes.Contains(n)).ToArray())
        {
            Delete(() => rt.DeleteRoute(index, net.BaseAddress, net.PrefixLength), $"route {net}");
            routes.Remove(net);
        }
        foreach (var a in addresses.Where(a => !want.Addresses.Contains(a)).ToArray())
        {
            Delete(() => rt.DeleteAddress(index, a.Address, a.PrefixLength), $"address {a}");
            addresses.Remove(a);
        }
        _installed = new LinkPlan(addresses, routes);
        var before = Config;
        foreach (var net in LinkPlan.DefaultRoutes(config))
        {
            if (before == config || !LinkPlan.DefaultRoutes(before).Contains(net))
                Log.Info($"{Name}: no route installed for {net}: a default route through the tunnel would also carry the tunnel's own packets; route it with a policy rule (fwmark) if wanted");
        }
    }

    /// <summary>True when the entry was added by this call (so it is ours to delete later).</summary>
    private bool Add(Action action, string what)
    {
        try
        {
            action();
            return true;
        }
        catch (Win32Exception e) when (e.NativeErrorCode == EEXIST)
        {
            // Someone else's entry for the same prefix: use it, but never claim (or later delete) it.
            Log.Info($"{Name}: {what} already exists and is not routerd's; left as it is");
        }
        catch (Win32Exception e)
        {
            Log.Error($"{Name}: cannot add {what}: {e.Message}");
        }
        return false;
    }

    private void Delete(Action action, string what)
    {
        try
        {
            action();
            Log.Info($"{Name}: {what} removed (no longer configured)");
        }
        catch (Win32Exception e) when (e.NativeErrorCode is ESRCH or EADDRNOTAVAIL)
        {
            // Already gone (someone removed it by hand): nothing to do.
        }
        catch (Win32Exception e)
        {
            Log.Error($"{Name}: cannot remove {what}: {e.Message}");
        }
    }

    /// <summary>Applies one interface's difference: only changed peers are touched (UpdateOnly), removed ones removed.</summary>
    public void Apply(InterfaceConfig config, InterfaceChange change)
    {
        if (Lost)
        {
            // Nothing to change in place: the recreate builds the interface from this configuration.
            Config = config;
            Log.Info($"{Name}: lost; the change takes effect when it is recreated");
            return;
        }
        var before = Config;
        var dc = new DeviceConfig();
        try
        {
            if ((change.Device & DeviceFields.PrivateKey) != 0)
                dc.PrivateKey = Key32.From(config.PrivateKey.Bytes);
            if ((change.Device & DeviceFields.ListenPort) != 0)
                dc.ListenPort = (ushort)(config.ListenPort ?? 0);
            if ((change.Device & DeviceFields.FwMark) != 0)
                dc.FirewallMark = config.FwMark;
            foreach (var p in change.PeersRemoved)
                dc.Peers.Add(DeviceConfigs.Remove(p));
            foreach (var p in change.PeersAdded)
            {
                ForgetResolution(p.PublicKey);
                dc.Peers.Add(DeviceConfigs.Peer(p, PeerFields.PresharedKey | PeerFields.Endpoint | PeerFields.AllowedIps | PeerFields.PersistentKeepalive, ResolveNow(p), updateOnly: false));
            }
            foreach (var c in change.PeersChanged)
            {
                var p = config.Peer(c.PublicKey)!;
                var fields = c.Fields & ~PeerFields.Name;
                if (fields == PeerFields.None)
                    continue;
                IPEndPoint? endpoint = null;
                if ((fields & PeerFields.Endpoint) != 0)
                {
                    ForgetResolution(p.PublicKey);
                    endpoint = ResolveNow(p);
                }
                dc.Peers.Add(DeviceConfigs.Peer(p, fields, endpoint, updateOnly: true));
            }
            _device.Configure(dc);
        }
        finally
        {
            dc.ClearSecrets();
        }
        ConfigureLink(config, mtuChanged: before.Mtu != config.Mtu);
        Config = config;
        Log.Info($"{Name}: applied: {Describe(change)}");
    }

    public static string Describe(InterfaceChange c)
    {
        var parts = new List<string>();
        if (c.Device != DeviceFields.None)
            parts.Add($"interface {c.Device}");
        if (c.PeersAdded.Count > 0)
            parts.Add($"added {string.Join(", ", c.PeersAdded.Select(p => p.Name))}");
        if (c.PeersRemoved.Count > 0)
            parts.Add($"removed {string.Join(", ", c.PeersRemoved.Select(p => p.Name))}");
        foreach (var p in c.PeersChanged)
            parts.Add($"{p.Name}: {p.Fields}");
        return parts.Count == 0 ? "nothing" : string.Join("; ", parts);
    }

    private IPEndPoint? ResolveNow(ConfigPeer p)
    {
        if (p.Endpoint is not EndpointSpec spec)
            return null;
        IPEndPoint? address;
        using (var cts = new CancellationTokenSource(ResolveTimeout))
        {
            try
            {
                address = EndpointResolver.ResolveAsync(spec, cts.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                address = null;
            }
        }
        lock (_resolveLock)
            _resolved[p.PublicKey] = (DateTimeOffset.UtcNow, address);
        if (address is null)
            Log.Error($"{Name}: peer {p.Name}: cannot resolve {spec}; retrying every {EndpointResolver.MinimumInterval.TotalSeconds:0} s");
        else if (spec.IsHostName)
            Log.Info($"{Name}: peer {p.Name}: {spec.Host} is {address.Address}");
        return address;
    }

    private void ForgetResolution(Router.Daemon.Config.PublicKey key)
    {
        lock (_resolveLock)
            _resolved.Remove(key);
    }

    /// <summary>
    /// Called every engine tick: re-resolves host-name endpoints of peers without a recent handshake (stock WireGuard
    /// resolves once), in the background, and updates the engine only when the address changed.
    /// </summary>
    public void ResolveEndpoints(DeviceSnapshot snapshot, DateTimeOffset now)
    {
        foreach (var p in Config.Peers)
        {
            if (p.Endpoint is not EndpointSpec spec || !spec.IsHostName)
                continue;
            var key = DeviceConfigs.Key(p.PublicKey);
            DateTime? handshake = snapshot.Peers.FirstOrDefault(s => s.PublicKey == key)?.LastHandshake;
            (DateTimeOffset At, IPEndPoint? Address) last;
            lock (_resolveLock)
            {
                bool known = _resolved.TryGetValue(p.PublicKey, out last);
                if (!EndpointResolver.IsDue(spec, handshake is null ? null : new DateTimeOffset(handshake.Value, TimeSpan.Zero), known ? last.At : null, now)
                    || !_resolving.Add(p.PublicKey))
                    continue;
            }
            var peer = p;
            _ = Task.Run(async () =>
            {
                try
                {
                    using var cts = new CancellationTokenSource(ResolveTimeout);
                    IPEndPoint? address = null;
                    try
                    {
                        address = await EndpointResolver.ResolveAsync(spec, cts.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    lock (_resolveLock)
                        _resolved[peer.PublicKey] = (DateTimeOffset.UtcNow, address ?? last.Address);
                    if (address is not null && !address.Equals(last.Address) && !_disposed && Config.Peer(peer.PublicKey) is not null)
                    {
                        Log.Info($"{Name}: peer {peer.Name}: {spec.Host} now resolves to {address.Address}");
                        var dc = new DeviceConfig();
                        dc.Peers.Add(DeviceConfigs.Peer(peer, PeerFields.Endpoint, address, updateOnly: true));
                        _device.Configure(dc);
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Log.Verbose($"{Name}: re-resolving {spec}: {e.Message}");
                }
                finally
                {
                    lock (_resolveLock)
                        _resolving.Remove(peer.PublicKey);
                }
            });
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        TearDown();
    }
}
