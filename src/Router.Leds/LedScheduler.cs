namespace Router.Leds;

/// <summary>
/// Moves every LED to where it should be at a given instant and says when it next needs to run: the earliest
/// pattern step end, or the instant a state changes by the passage of time alone. Steady LEDs and an
/// unchanged snapshot cost no wake-ups and no writes. Not thread-safe: run by one thread (or a test).
/// </summary>
internal sealed class LedScheduler
{
    private readonly LedChannel[] _channels;

    public LedScheduler(LedChannel[] channels) => _channels = channels;

    public IReadOnlyList<LedChannel> Channels => _channels;

    /// <summary>Updates every LED for <paramref name="snapshot"/> at <paramref name="now"/>; returns when to run next, or null for "only on a new snapshot".</summary>
    public TimeSpan? Run(LinkSnapshot snapshot, TimeSpan now)
    {
        TimeSpan next = TimeSpan.MaxValue;
        foreach (LedChannel channel in _channels)
        {
            LinkState state = channel.Binding.Peer is { } peer
                ? LinkStateModel.EvaluatePeer(snapshot, peer, now)
                : LinkStateModel.EvaluateAll(snapshot, now);
            channel.Update(state, now);
            if (!channel.Disabled && channel.StepEndsAt < next)
            {
                next = channel.StepEndsAt;
            }
        }

        if (_channels.Length > 0 && LinkStateModel.NextChange(snapshot, now) is { } change && change < next)
        {
            next = change;
        }

        return next == TimeSpan.MaxValue ? null : next;
    }

    /// <summary>Gives every LED back.</summary>
    public void CloseAll()
    {
        foreach (LedChannel channel in _channels)
        {
            channel.Close();
        }
    }
}
