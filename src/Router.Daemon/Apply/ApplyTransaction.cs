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
    /// <summary>--dry-run: validated and compared, nothing written, applied or recorded.</summary>
    DryRun,
}

internal sealed record ApplyResult(ApplyOutcome Outcome, string Message, IReadOnlyList<ConfigProblem> Problems)
{
    /// <summary>Exit status for 'routerd apply': 0 when the new configuration is in force (or pending confirm, or a valid dry run).</summary>
    public int ExitStatus => Outcome is ApplyOutcome.Applied or ApplyOutcome.Unchanged or ApplyOutcome.AwaitingConfirm or ApplyOutcome.DryRun ? 0 : 1;

    /// <summary>What the new configuration changes, by JSON path (<see cref="ConfigDiffText"/>).</summary>
    public IReadOnlyList<string> Changes { get; init; } = [];

    /// <summary>Lines for stderr besides the problems: the SSH-path warning, an earlier apply that was rolled back.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
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
    private volatile ApplyRecord? _last;

    public TimeSpan ProbeTimeout { get; init; } = DefaultProbeTimeout;

    /// <summary>The window an apply over SSH gets when it cuts the session's path and asked for none (ROUTERD_SSH_CONFIRM).</summary>
    public TimeSpan SshConfirmWindow { get; init; } = SshPath.DefaultConfirmWindow;

    /// <summary>Whether an apply is waiting for 'routerd confirm'.</summary>
    public bool AwaitingConfirm => Volatile.Read(ref _pendingConfirm) is not null;

    /// <summary>The task of the pending confirm window (tests await it).</summary>
    public Task ConfirmWindow => _confirmTimer ?? Task.CompletedTask;

    /// <summary>The latest apply since the daemon started (show and metrics read it); null before the first.</summary>
    public ApplyRecord? Last => _last;

    /// <summary>The API of the first version (a window or none, no SSH check): kept for callers that need no more.</summary>
    public Task<ApplyResult> ApplyAsync(ReadOnlyMemory<byte> json, TimeSpan? confirmWithin, CancellationToken cancel)
        => SubmitAsync(json, new ApplyOptions { ConfirmWithin = confirmWithin }, cancel);

    /// <summary>One apply as the control socket asks for it: the window, --no-confirm, --dry-run and the SSH session it comes from.</summary>
    public async Task<ApplyResult> SubmitAsync(ReadOnlyMemory<byte> json, ApplyOptions options, CancellationToken cancel)
    {
        var at = _time.GetUtcNow();
        var earlier = EarlierRollback();
        if (AwaitingConfirm && !options.DryRun)
            return new(ApplyOutcome.Busy, "refused: an earlier apply is waiting for 'routerd confirm'; confirm it or wait for its rollback", []);
        await _one.WaitAsync(cancel);
        try
        {
            var loaded = ConfigLoader.Parse(json, keyFiles);
            if (loaded.HasErrors)
            {
                string summary = loaded.Summary("the new configuration");
                if (!options.DryRun)
                    _last = new ApplyRecord(at, ApplyState.Refused, summary, []);
                return new(ApplyOutcome.Invalid, $"refused: {summary}; nothing changed", loaded.Problems) { Warnings = earlier };
            }

            var before = running.Current;
            var diff = ConfigDiff.Compute(before, loaded.Config!);
            var changes = ConfigDiffText.Lines(before, loaded.Config!, diff);
            var warnings = new List<string>(earlier);
            string? sshCut = options.Ssh is { } ssh ? SshPath.Cut(ssh, before, loaded.Config!) : null;
            TimeSpan? confirmWithin = options.ConfirmWithin;
            if (sshCut is not null)
            {
                if (confirmWithin is null && !options.NoConfirm)
                    confirmWithin = SshConfirmWindow;
                warnings.Add($"warning: this change cuts the path of this SSH session ({options.Ssh}): {sshCut}");
                warnings.Add(confirmWithin is { } w
                    ? $"warning: {(options.DryRun ? "applying it would wait" : "waiting")} {SshPath.Seconds(w)} s for 'routerd confirm' (from a new session that works); without it the change is rolled back"
                    : "warning: applied without a confirm window (--no-confirm): if this session is cut, nothing brings it back");
            }

            if (options.DryRun)
            {
                loaded.Config!.Dispose();
                string what = before is not null && diff.IsEmpty ? "no difference from the running configuration" : $"{changes.Count} change(s)";
                return new(ApplyOutcome.DryRun, $"dry run: the configuration is valid; {what}; nothing was written or applied", loaded.Problems)
                    { Changes = changes, Warnings = warnings };
            }

            if (before is not null && diff.IsEmpty)
            {
                loaded.Config!.Dispose();
                _last = new ApplyRecord(at, ApplyState.Unchanged, null, []);
                return new(ApplyOutcome.Unchanged, "no difference from the running configuration", loaded.Problems) { Warnings = warnings };
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
                string why = $"applying failed ({e.Message})";
                _last = new ApplyRecord(at, ApplyState.RolledBack, why, changes) { EndedAt = _time.GetUtcNow() };
                return new(ApplyOutcome.RolledBack, $"rolled back: {why}; the previous configuration is in force again", loaded.Problems)
                    { Changes = changes, Warnings = warnings };
            }
            if (silent.Count > 0)
            {
                // Asked before the rollback: the engine's view of the failed handshakes is about the new settings.
                string why = string.Join("; ", silent.Select(p =>
                    $"{NameOf(before, loaded.Config!, p)} answered before the change and not within {ProbeTimeout.TotalSeconds:0} s after it{Cause(p, before, offered.Diff!)}"));
                await RollBackAsync(CancellationToken.None);
                offered.Replaced?.Dispose();
                _last = new ApplyRecord(at, ApplyState.RolledBack, why, changes) { EndedAt = _time.GetUtcNow() };
                return new(ApplyOutcome.RolledBack, $"rolled back: {why}; the previous configuration is in force again", loaded.Problems)
                    { Changes = changes, Warnings = warnings };
            }

            if (confirmWithin is TimeSpan window)
            {
                var pending = new CancellationTokenSource();
                var record = new ApplyRecord(at, ApplyState.Pending, sshCut is null ? null : $"over SSH, {sshCut}", changes) { Until = _time.GetUtcNow() + window };
                _last = record;
                MarkPending(at, record.Until!.Value, json.Span);
                _pendingConfirm = pending;
                _confirmTimer = RollBackUnlessConfirmedAsync(window, pending, offered.Replaced, record);
                return new(ApplyOutcome.AwaitingConfirm,
                    $"applied; run 'routerd confirm' within {window.TotalSeconds:0} s or it is rolled back (pending until {ApplyRecord.Time(record.Until)})", loaded.Problems)
                    { Changes = changes, Warnings = warnings };
            }
            // Peers may hold the old keys' sessions a moment longer; the engine copied what it needs from the config.
            offered.Replaced?.Dispose();
            _last = new ApplyRecord(at, ApplyState.Applied, null, changes);
            return new(ApplyOutcome.Applied, "applied", loaded.Problems) { Changes = changes, Warnings = warnings };
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>Keeps the configuration applied with a confirm window. False if none was waiting (see <see cref="Last"/> for why).</summary>
    public bool Confirm()
    {
        var pending = Interlocked.Exchange(ref _pendingConfirm, null);
        if (pending is null)
            return false;
        if (_last is { State: ApplyState.Pending } record)
            _last = record with { State = ApplyState.Confirmed, EndedAt = _time.GetUtcNow() };
        store.ClearPending();
        pending.Cancel();
        return true;
    }

    /// <summary>The record of an apply a previous daemon left pending (see <see cref="RecoverPending"/>).</summary>
    public ApplyRecord? Recovered
    {
        init => _last = value;
    }

    private void MarkPending(DateTimeOffset at, DateTimeOffset until, ReadOnlySpan<byte> json)
    {
        try
        {
            store.MarkPending(at, until, json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Error($"apply: cannot write {store.PendingPath} ({e.Message}): a daemon restart before the confirm would keep this change");
        }
    }

    /// <summary>
    /// At start, before the first load: an apply the previous daemon left waiting for 'routerd confirm' (it was
    /// stopped, crashed or the board rebooted inside the window) was never confirmed, so it is rolled back now, as the
    /// window would have done; unless the file changed since (someone wrote another one), which then stays.
    /// </summary>
    public static ApplyRecord? RecoverPending(ConfigStore store, TimeProvider? time = null)
    {
        if (store.ReadPending() is not { } mark)
        {
            store.ClearPending(); // none, or malformed: nothing to act on
            return null;
        }
        var (at, until, same) = mark;
        var now = (time ?? TimeProvider.System).GetUtcNow();
        store.ClearPending();
        if (!same)
        {
            Log.Error($"apply: the apply of {ApplyRecord.Time(at)} was still waiting for 'routerd confirm' when the daemon stopped, but {store.Path} changed since: it stays");
            return null;
        }
        if (!store.RestorePrevious())
        {
            Log.Error($"apply: the apply of {ApplyRecord.Time(at)} was still waiting for 'routerd confirm' when the daemon stopped, and there is no {store.PreviousPath} to roll back to");
            return null;
        }
        string why = $"the daemon stopped before 'routerd confirm' (window until {ApplyRecord.Time(until)}): rolled back when it started again";
        Log.Error($"apply: the apply of {ApplyRecord.Time(at)} was never confirmed: {why}");
        return new ApplyRecord(at, ApplyState.RolledBack, why, []) { Until = until, EndedAt = now };
    }

    /// <summary>What 'routerd confirm' says when nothing is waiting: never "confirmed" for an apply that was rolled back.</summary>
    public string NothingToConfirm()
        => _last switch
        {
            { State: ApplyState.RolledBack } r => $"nothing to confirm: the apply of {ApplyRecord.Time(r.At)} was rolled back at {ApplyRecord.Time(r.EndedAt)}{(r.Why is null ? "" : ": " + r.Why)}; the previous configuration is in force",
            { State: ApplyState.Confirmed } r => $"nothing to confirm: the apply of {ApplyRecord.Time(r.At)} was already confirmed at {ApplyRecord.Time(r.EndedAt)}",
            { } r => $"nothing to confirm: the latest apply ({ApplyRecord.Time(r.At)}) had no confirm window ({ApplyRecord.Word(r.State)})",
            null => "nothing to confirm: no apply since the daemon started",
        };

    // An apply after a rollback says so: whoever runs it may still believe the earlier change is in force.
    private IReadOnlyList<string> EarlierRollback()
        => _last is { State: ApplyState.RolledBack } r
            ? [$"note: the previous apply ({ApplyRecord.Time(r.At)}) was rolled back at {ApplyRecord.Time(r.EndedAt)}{(r.Why is null ? "" : ": " + r.Why)}"]
            : [];

    private async Task RollBackUnlessConfirmedAsync(TimeSpan window, CancellationTokenSource pending, RouterConfig? replaced, ApplyRecord record)
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
            store.ClearPending();
            _last = record with
            {
                State = ApplyState.RolledBack, EndedAt = _time.GetUtcNow(),
                Why = $"no 'routerd confirm' within {window.TotalSeconds:0} s" + (record.Why is null ? "" : $" ({record.Why})"),
            };
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

    /// <summary>" (likely cause)" for a silent peer: what the engine saw, and what in this change can make a far side drop handshakes without a word.</summary>
    private string Cause(PeerRef peer, RouterConfig? before, ConfigDiff diff)
    {
        var causes = new List<string>();
        if (target.WhySilent(peer) is { } seen)
            causes.Add(seen);
        if (before?.Interface(peer.Interface) is { } old && old.Peer(peer.PublicKey) is null)
            causes.Add("this change gave it a new public key: a key the site does not hold makes it drop every handshake unanswered");
        if (diff.InterfacesChanged.FirstOrDefault(c => c.Name == peer.Interface) is { } change && change.Device.HasFlag(DeviceFields.PrivateKey))
            causes.Add($"this change gave {peer.Interface} a new private key: the far side drops handshakes until it has the new public key");
        return causes.Count == 0 ? "" : $" (likely cause: {string.Join("; and ", causes)})";
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
