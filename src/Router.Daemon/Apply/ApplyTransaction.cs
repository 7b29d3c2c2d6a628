using Router.Daemon.Config;
using Router.Daemon.Hosting;

namespace Router.Daemon.Apply;

/// <summary>How an apply ended, as the 'routerd apply' client reports it.</summary>
internal enum ApplyOutcome
{
    /// <summary>The new configuration failed validation; nothing was written or changed.</summary>
    Invalid,
    /// <summary>Nothing differs from the running configuration; nothing was changed.</summary>
    Unchanged,
    /// <summary>Written, applied, and every peer that was up before answered again.</summary>
    Applied,
    /// <summary>Written and applied; rolled back unless confirmed in time.</summary>
    AwaitingConfirm,
    /// <summary>A peer that was up before stopped answering: the previous file was restored and applied again.</summary>
    RolledBack,
    /// <summary>Another apply is waiting for its confirm; confirm or let it roll back first.</summary>
    Busy,
}

internal sealed record ApplyResult(ApplyOutcome Outcome, string Message, IReadOnlyList<ConfigProblem> Problems)
{
    /// <summary>Exit status for 'routerd apply': 0 when the new configuration is in force (or pending confirm).</summary>
    public int ExitStatus => Outcome is ApplyOutcome.Applied or ApplyOutcome.Unchanged or ApplyOutcome.AwaitingConfirm ? 0 : 1;
}

/// <summary>
/// The daemon's side of 'routerd apply' (the daemon owns the rollback, not the SSH session that may be cut):
/// validate; write atomically keeping router.json.prev; apply only the difference; then start a handshake with
/// every peer that was up before and whose settings or path changed, and if any does not answer within the
/// timeout, restore the previous file and apply it again. With a confirm window the change is also rolled back
/// unless <see cref="Confirm"/> arrives in time, so a change that cuts the operator's own SSH path undoes itself.
/// One apply at a time.
/// </summary>
internal sealed class ApplyTransaction(ConfigStore store, RunningConfig running, IConfigTarget target, TimeProvider? time = null, IKeyFileSource? keyFiles = null)
{
    /// <summary>How long peers get to answer after an apply: a handshake is retried every 5 s (REKEY_TIMEOUT), so this is four tries.</summary>
    public static readonly TimeSpan DefaultProbeTimeout = TimeSpan.FromSeconds(20);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _one = new(1, 1);
    private CancellationTokenSource? _pendingConfirm;
    private Task? _confirmTimer;

    public TimeSpan ProbeTimeout { get; init; } = DefaultProbeTimeout;

    /// <summary>Whether an apply is waiting for 'routerd confirm'.</summary>
    public bool AwaitingConfirm => Volatile.Read(ref _pendingConfirm) is not null;

    /// <summary>The task of the pending confirm window (tests await it).</summary>
    public Task ConfirmWindow => _confirmTimer ?? Task.CompletedTask;

    public async Task<ApplyResult> ApplyAsync(ReadOnlyMemory<byte> json, TimeSpan? confirmWithin, CancellationToken cancel)
    {
        if (AwaitingConfirm)
            return new(ApplyOutcome.Busy, "an earlier apply is waiting for 'routerd confirm'; confirm it or wait for its rollback", []);
        await _one.WaitAsync(cancel);
        try
        {
            var loaded = ConfigLoader.Parse(json, keyFiles);
            if (loaded.HasErrors)
                return new(ApplyOutcome.Invalid, $"refused: {loaded.Summary("the new configuration")}; nothing changed", loaded.Problems);

            var before = running.Current;
            var diff = ConfigDiff.Compute(before, loaded.Config!);
            if (before is not null && diff.IsEmpty)
            {
                loaded.Config!.Dispose();
                return new(ApplyOutcome.Unchanged, "no difference from the running configuration", loaded.Problems);
            }

            var upBefore = target.UpPeers();
            store.Write(json.Span);
            var offered = running.Offer(loaded);
            IReadOnlyList<PeerRef> silent;
            try
            {
                await target.ApplyAsync(loaded.Config!, offered.Diff!, cancel);
                silent = await target.ProbeAsync(PeersToProbe(offered.Diff!, before, loaded.Config!, upBefore), ProbeTimeout, cancel);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await RollBackAsync(CancellationToken.None);
                offered.Replaced?.Dispose();
                return new(ApplyOutcome.RolledBack, $"rolled back: applying failed ({e.Message}); the previous configuration is in force again", loaded.Problems);
            }
            if (silent.Count > 0)
            {
                string names = string.Join(", ", silent.Select(p => NameOf(before, loaded.Config!, p)));
                await RollBackAsync(CancellationToken.None);
                offered.Replaced?.Dispose();
                return new(ApplyOutcome.RolledBack,
                    $"rolled back: {names} answered before the change and not within {ProbeTimeout.TotalSeconds:0} s after it; the previous configuration is in force again",
                    loaded.Problems);
            }

            if (confirmWithin is TimeSpan window)
            {
                var pending = new CancellationTokenSource();
                _pendingConfirm = pending;
                _confirmTimer = RollBackUnlessConfirmedAsync(window, pending, offered.Replaced);
                return new(ApplyOutcome.AwaitingConfirm, $"applied; run 'routerd confirm' within {window.TotalSeconds:0} s or it is rolled back", loaded.Problems);
            }
            // Peers may hold the old keys' sessions a moment longer; the engine copied what it needs from the config.
            offered.Replaced?.Dispose();
            return new(ApplyOutcome.Applied, "applied", loaded.Problems);
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>Keeps the configuration applied with a confirm window. False if none was waiting.</summary>
    public bool Confirm()
    {
        var pending = Interlocked.Exchange(ref _pendingConfirm, null);
        if (pending is null)
            return false;
        pending.Cancel();
        return true;
    }

    private async Task RollBackUnlessConfirmedAsync(TimeSpan window, CancellationTokenSource pending, RouterConfig? replaced)
    {
        try
        {
            await Task.Delay(window, _time, pending.Token);
        }
        catch (OperationCanceledException)
        {
            replaced?.Dispose(); // confirmed: the old configuration is gone for good
            pending.Dispose();
            return;
        }
        if (Interlocked.CompareExchange(ref _pendingConfirm, null, pending) != pending)
            return; // confirmed at the last moment
        await _one.WaitAsync();
        try
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await RollBackAsync(CancellationToken.None);
            Log.Error($"apply: no 'routerd confirm' within {window.TotalSeconds:0} s: rolled back, the previous configuration is in force again ({watch.ElapsedMilliseconds} ms)");
        }
        finally
        {
            _one.Release();
            replaced?.Dispose();
            pending.Dispose();
        }
    }

    private async Task RollBackAsync(CancellationToken cancel)
    {
        store.RestorePrevious();
        var previous = store.Load(keyFiles);
        var offered = running.Offer(previous);
        if (!offered.Accepted)
            return; // the previous file no longer validates (a key file vanished): keep what runs rather than go dark
        await target.ApplyAsync(previous.Config!, offered.Diff!, cancel);
        offered.Replaced?.Dispose();
    }

    /// <summary>
    /// Peers that were up and whose path the change touched: their own settings changed, or their interface's key,
    /// port, mark or addresses did, or forwarding changed. Untouched peers keep their sessions and need no probe.
    /// </summary>
    public static IReadOnlyList<PeerRef> PeersToProbe(ConfigDiff diff, RouterConfig? before, RouterConfig after, IReadOnlyCollection<PeerRef> upBefore)
    {
        var probe = new List<PeerRef>();
        foreach (var up in upBefore)
        {
            var iface = after.Interface(up.Interface);
            if (iface?.Peer(up.PublicKey) is null)
            {
                // Gone under this key. The same name under a new key is the same site with a new identity: it must
                // answer to that key (a key the site does not have cuts it off). Otherwise it was removed on purpose.
                string? name = before?.Interface(up.Interface)?.Peer(up.PublicKey)?.Name;
                if (iface?.Peers.FirstOrDefault(p => p.Name == name) is { } renamed)
                    probe.Add(new PeerRef(up.Interface, renamed.PublicKey));
                continue;
            }
            var change = diff.InterfacesChanged.FirstOrDefault(c => c.Name == up.Interface);
            bool touched = diff.ForwardingChanged && before is not null
                           || change is not null && (change.Device != DeviceFields.None
                                                     || change.PeersChanged.Any(p => p.PublicKey == up.PublicKey && p.Fields != PeerFields.Name));
            if (touched)
                probe.Add(up);
        }
        return probe;
    }

    private static string NameOf(RouterConfig? before, RouterConfig after, PeerRef peer)
    {
        if (before?.Interface(peer.Interface)?.Peer(peer.PublicKey)?.Name is string name)
            return $"{peer.Interface}/{name}";
        if (after.Interface(peer.Interface)?.Peer(peer.PublicKey)?.Name is string renamed)
            return $"{peer.Interface}/{renamed} (under its new public key {peer.PublicKey.ShortId}...)";
        return peer.ToString();
    }
}
