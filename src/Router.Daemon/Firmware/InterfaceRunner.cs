using System.ComponentModel;
using System.Net;
using Router.Daemon.Config;
using Router.Daemon.Hosting;
using Router.Linux;
using Router.Linux.Uapi;
using Router.Tunnel;
using ConfigPeer = Router.Daemon.Config.PeerConfig;

namespace Router.Daemon.Firmware;

/// <summary>
/// One interface of the firmware mode: TUN device, engine, UAPI socket (so wg(8) works), addresses, MTU, a route per
/// peer allowed IP, link up; and the per-peer endpoint resolution state. Applies reload differences in place.
/// </summary>
internal sealed class InterfaceRunner : IDisposable
{
    private const int EEXIST = 17;
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    private readonly Tun _tun;
    private readonly Device _device;
    private readonly UapiServer _uapi;
    private readonly Lock _resolveLock = new();
    private readonly Dictionary<Router.Daemon.Config.PublicKey, (DateTimeOffset At, IPEndPoint? Address)> _resolved = new();
    private readonly HashSet<Router.Daemon.Config.PublicKey> _resolving = new();
    private volatile bool _lost;
    private bool _disposed;

    public string Name { get; }

    /// <summary>The configuration this interface runs now (names for LEDs, logs and show).</summary>
    public InterfaceConfig Config { get; private set; }

    public Device Device => _device;

    /// <summary>The interface vanished under us (ip link del) or the engine faulted.</summary>
    public bool Lost => _lost || _tun.IsDeleted;

    private InterfaceRunner(InterfaceConfig config, Tun tun, Device device, UapiServer uapi)
    {
        Name = config.Name;
        Config = config;
        _tun = tun;
        _device = device;
        _uapi = uapi;
    }

    public static InterfaceRunner Start(InterfaceConfig config, ITimestampSource? timestamps)
    {
        InterfaceRunner? runner = null;
        Tun tun = Tun.Create(config.Name, e => runner?.OnTunEvent(e));
        Device? device = null;
        UapiServer? uapi = null;
        try
        {
            device = new Device(tun, OpenBind, clock: null, timestamps: timestamps) { LinkProbe = () => TunnelHost.ProbeLink(tun) };
            device.SetUp(false); // the link is still down: the configuration below must not start handshakes yet
            runner = new InterfaceRunner(config, tun, device, uapi = new UapiServer(tun.Name, new UapiDeviceAdapter(device)) { Log = Log.Verbose });
            device.Faulted += e =>
            {
                runner._lost = true;
                Log.Error($"{config.Name}: engine fault: {e.Message}");
            };
            var initial = new Dictionary<Router.Daemon.Config.PublicKey, IPEndPoint?>();
            foreach (var p in config.Peers)
                initial[p.PublicKey] = runner.ResolveNow(p);
            var deviceConfig = DeviceConfigs.Full(config, p => initial[p.PublicKey]);
            try
            {
                device.Configure(deviceConfig);
            }
            finally
            {
                deviceConfig.ClearSecrets();
            }
            device.Start();
            runner.ConfigureLink(config, null);
            device.SetUp(TunnelHost.LinkIsUp(tun)); // up now (ConfigureLink); from here on link events drive it
            Log.Info($"{config.Name}: up with {config.Peers.Count} peer(s), listening on UDP {device.ListenPort}; UAPI on {uapi.SocketPath}");
            return runner;
        }
        catch
        {
            uapi?.Dispose();
            if (device is not null)
                device.Dispose();
            else
                tun.Dispose();
            throw;
        }
    }

    private static UdpBind OpenBind(ushort port, uint mark)
    {
        UdpBind bind = UdpBind.Open(port);
        if (mark != 0)
            bind.SetMark(mark);
        return bind;
    }

    private void OnTunEvent(TunEvent e)
    {
        if (e is TunEvent.Up or TunEvent.Down)
            TunnelHost.FollowLink(_device, _tun); // ip link set down: no handshakes or keepalives until it is up again
        if (e == TunEvent.Deleted)
        {
            _lost = true;
            Log.Error($"{Name}: the interface was deleted under the running tunnel");
        }
    }

    /// <summary>MTU, addresses, routes for allowed IPs (skipping what an address prefix already covers), link up.</summary>
    private void ConfigureLink(InterfaceConfig config, InterfaceConfig? before)
    {
        using var rt = new Rtnetlink();
        int index = _tun.InterfaceIndex;
        if (before is null || before.Mtu != config.Mtu)
            _tun.SetMtu(config.Mtu);
        foreach (var a in config.Addresses)
        {
            if (before is not null && before.Addresses.Contains(a))
                continue;
            Tolerate(() => rt.AddAddress(index, a.Address, a.PrefixLength), $"address {a}");
        }
        if (before is not null)
        {
            foreach (var a in before.Addresses.Where(a => !config.Addresses.Contains(a)))
                Log.Info($"{Name}: address {a} is no longer configured; it stays until the interface is recreated");
        }
        rt.SetUp(index, true);
        foreach (var p in config.Peers)
        {
            var old = before?.Peer(p.PublicKey);
            foreach (var net in p.AllowedIps)
            {
                if (old is not null && old.AllowedIps.Contains(net))
                    continue;
                AddRoute(rt, index, config, net);
            }
        }
    }

    private void AddRoute(Rtnetlink rt, int index, InterfaceConfig config, IPNetwork net)
    {
        if (net.PrefixLength == 0)
        {
            Log.Info($"{Name}: no route installed for {net}: a default route through the tunnel would also carry the tunnel's own packets; route it with a policy rule (fwmark) if wanted");
            return;
        }
        if (config.Addresses.Any(a => a.Network.PrefixLength <= net.PrefixLength && a.Network.Contains(net.BaseAddress)))
            return; // the address's own prefix route covers it
        Tolerate(() => rt.AddRoute(index, net.BaseAddress, net.PrefixLength), $"route {net}");
    }

    private void Tolerate(Action action, string what)
    {
        try
        {
            action();
        }
        catch (Win32Exception e) when (e.NativeErrorCode == EEXIST)
        {
            // Already there (a restart, or the same prefix on two peers): fine.
        }
        catch (Win32Exception e)
        {
            Log.Error($"{Name}: cannot add {what}: {e.Message}");
        }
    }

    /// <summary>Applies one interface's difference: only changed peers are touched (UpdateOnly), removed ones removed.</summary>
    public void Apply(InterfaceConfig config, InterfaceChange change)
    {
        var before = Config;
        var dc = new DeviceConfig();
        try
        {
            if ((change.Device & DeviceFields.PrivateKey) != 0)
                dc.PrivateKey = Router.Tunnel.SecretKey.From(config.PrivateKey.Bytes);
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
        Config = config;
        ConfigureLink(config, before);
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
        _uapi.Dispose();
        _device.Stop();
        _device.Dispose(); // closes the TUN: the kernel deletes the interface with its addresses and routes
    }
}
