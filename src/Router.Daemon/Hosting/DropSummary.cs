using System.Text;
using Router.Tunnel;

namespace Router.Daemon.Hosting;

/// <summary>
/// The log's view of one device's drops: a line naming every reason that grew since the previous line, with the
/// growth and the total. The caller asks at most once per interval, so a flood costs one line per interval, never
/// one per packet; a quiet device logs nothing.
/// </summary>
internal sealed class DropSummary(Device device)
{
    /// <summary>How often drop-in and firmware mode ask for a line.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    private readonly long[] _last = new long[DropCounters.Count];
    private readonly long[] _now = new long[DropCounters.Count];

    /// <summary>"dropped QueueFull +12 (12), UdpReceive +3 (40)", or null when no count grew since the last call.</summary>
    public string? Next()
    {
        device.CopyDropsTo(_now);
        StringBuilder? line = null;
        for (int i = 0; i < _now.Length; i++)
        {
            long grew = _now[i] - _last[i];
            if (grew <= 0)
                continue;
            line = line is null ? new StringBuilder("dropped ") : line.Append(", ");
            line.Append((DropReason)i).Append(" +").Append(grew).Append(" (").Append(_now[i]).Append(')');
        }
        _now.CopyTo(_last.AsSpan());
        return line?.ToString();
    }

    /// <summary>"dropped in total: QueueFull 12, UdpReceive 40", or null when nothing was ever dropped.</summary>
    public string? Totals()
    {
        device.CopyDropsTo(_now);
        StringBuilder? line = null;
        for (int i = 0; i < _now.Length; i++)
        {
            if (_now[i] == 0)
                continue;
            line = line is null ? new StringBuilder("dropped in total: ") : line.Append(", ");
            line.Append((DropReason)i).Append(' ').Append(_now[i]);
        }
        return line?.ToString();
    }
}
