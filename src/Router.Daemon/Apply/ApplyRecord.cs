using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Router.Daemon.Apply;

/// <summary>Where the latest apply stands, as 'routerd show' reports it (snake_case: also a metrics label value).</summary>
internal enum ApplyState
{
    /// <summary>Applied with a confirm window that is still open.</summary>
    Pending,
    /// <summary>'routerd confirm' arrived within the window: it stays.</summary>
    Confirmed,
    /// <summary>Applied without a window, every peer that was up answered.</summary>
    Applied,
    /// <summary>Nothing differed from the running configuration.</summary>
    Unchanged,
    /// <summary>Undone: a peer stopped answering, applying failed, or no confirm came in time.</summary>
    RolledBack,
    /// <summary>Not valid (or another apply was pending): nothing was written or changed.</summary>
    Refused,
}

/// <summary>
/// The latest 'routerd apply' as the daemon keeps it (in memory: it is the daemon, not the SSH session, that owns
/// the window and the rollback, so this is the truth whatever happened to the session that asked).
/// </summary>
/// <param name="At">When the apply arrived.</param>
/// <param name="Why">What decided the outcome (the rollback's cause, the refusal's first problem); null when nothing needs saying.</param>
/// <param name="Changes">The change as <see cref="Config.ConfigDiffText"/> lines.</param>
internal sealed record ApplyRecord(DateTimeOffset At, ApplyState State, string? Why, IReadOnlyList<string> Changes)
{
    /// <summary>The end of the confirm window (pending, and kept once it is decided).</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>When it was confirmed or rolled back.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    public static string Word(ApplyState state) => state switch
    {
        ApplyState.Pending => "pending",
        ApplyState.Confirmed => "confirmed",
        ApplyState.Applied => "applied",
        ApplyState.Unchanged => "unchanged",
        ApplyState.RolledBack => "rolled_back",
        _ => "refused",
    };

    private static ApplyState? FromWord(string? word) => word switch
    {
        "pending" => ApplyState.Pending,
        "confirmed" => ApplyState.Confirmed,
        "applied" => ApplyState.Applied,
        "unchanged" => ApplyState.Unchanged,
        "rolled_back" => ApplyState.RolledBack,
        "refused" => ApplyState.Refused,
        _ => null,
    };

    /// <summary>One sentence: what happened and when (the first line of show's "apply:" section).</summary>
    public string Summary(DateTimeOffset now)
    {
        string changes = Changes.Count == 1 ? "1 change" : $"{Changes.Count} changes";
        string why = Why is null ? "" : $": {Why}";
        return State switch
        {
            ApplyState.Pending => $"pending until {Time(Until)} (in {Math.Max(0, (int)((Until ?? now) - now).TotalSeconds)} s): applied at {Time(At)}, {changes}; "
                                  + $"'routerd confirm' keeps it, otherwise it is rolled back{why}",
            ApplyState.Confirmed => $"confirmed at {Time(EndedAt)} (applied at {Time(At)}, {changes})",
            ApplyState.Applied => $"applied at {Time(At)}, {changes}; every peer that was up answered again",
            ApplyState.Unchanged => $"at {Time(At)}: no difference from the running configuration; nothing changed",
            ApplyState.RolledBack => $"rolled back at {Time(EndedAt)} (applied at {Time(At)}, {changes}){why}; the previous configuration is in force",
            _ => $"refused at {Time(At)}{why}; nothing changed",
        };
    }

    public static string Time(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "?";

    /// <summary>show's text section: the summary, then the change lines.</summary>
    public string Text(DateTimeOffset now)
    {
        var s = new StringBuilder("apply: ").Append(Summary(now)).Append('\n');
        foreach (var c in Changes)
            s.Append("  change: ").Append(c.TrimStart()).Append('\n');
        return s.ToString();
    }

    /// <summary>show --json's "apply" object (null when no apply arrived since the daemon started).</summary>
    public static void WriteJson(Utf8JsonWriter w, ApplyRecord? r)
    {
        if (r is null)
        {
            w.WriteNull("apply");
            return;
        }
        w.WriteStartObject("apply");
        w.WriteString("at", Iso(r.At));
        w.WriteString("outcome", Word(r.State));
        WriteTime(w, "until", r.Until);
        WriteTime(w, "endedAt", r.EndedAt);
        if (r.Why is null)
            w.WriteNull("why");
        else
            w.WriteString("why", r.Why);
        w.WriteStartArray("changes");
        foreach (var c in r.Changes)
            w.WriteStringValue(c.TrimStart());
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Reads what <see cref="WriteJson"/> wrote; null when absent (an older daemon) or malformed.</summary>
    public static ApplyRecord? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var doc = JsonDocument.ParseValue(ref reader);
            if (!doc.RootElement.TryGetProperty("apply", out var a) || a.ValueKind != JsonValueKind.Object)
                return null;
            if (FromWord(a.GetProperty("outcome").GetString()) is not { } state || ParseTime(a.GetProperty("at")) is not { } at)
                return null;
            var changes = a.TryGetProperty("changes", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Select(c => c.GetString() ?? "").ToArray()
                : [];
            var why = a.TryGetProperty("why", out var w) && w.ValueKind == JsonValueKind.String ? w.GetString() : null;
            return new ApplyRecord(at, state, why, changes)
            {
                Until = a.TryGetProperty("until", out var u) ? ParseTime(u) : null,
                EndedAt = a.TryGetProperty("endedAt", out var e) ? ParseTime(e) : null,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? t)
    {
        if (t is { } v)
            w.WriteString(name, Iso(v));
        else
            w.WriteNull(name);
    }

    private static DateTimeOffset? ParseTime(JsonElement e)
        => e.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
}

/// <summary>How 'routerd apply' asks for a change (the control socket's request line carries it).</summary>
internal sealed record ApplyOptions
{
    /// <summary>An explicit --confirm window; null: none asked for.</summary>
    public TimeSpan? ConfirmWithin { get; init; }

    /// <summary>An explicit --no-confirm: no window even when the change cuts the SSH session.</summary>
    public bool NoConfirm { get; init; }

    /// <summary>Validate and diff only: nothing is written, applied or recorded.</summary>
    public bool DryRun { get; init; }

    /// <summary>The SSH session the client runs in ($SSH_CONNECTION), checked with <see cref="SshPath"/>.</summary>
    public SshSession? Ssh { get; init; }

    /// <summary>The control socket's request line: "apply SECONDS [no-confirm] [dry-run] [ssh=CLIENT,SERVER]" (0 = no window asked for).</summary>
    public string RequestLine()
    {
        var s = new StringBuilder("apply ").Append(ConfirmWithin is { } t ? SshPath.Seconds(t) : "0");
        if (NoConfirm)
            s.Append(" no-confirm");
        if (DryRun)
            s.Append(" dry-run");
        if (Ssh is { } ssh)
            s.Append(' ').Append(ssh.Word);
        return s.Append('\n').ToString();
    }

    /// <summary>The words after "apply" of <see cref="RequestLine"/>; null when one is not understood.</summary>
    public static ApplyOptions? Parse(IReadOnlyList<string> words)
    {
        if (words.Count < 1 || !int.TryParse(words[0], NumberStyles.None, CultureInfo.InvariantCulture, out int seconds))
            return null;
        var o = new ApplyOptions { ConfirmWithin = seconds > 0 ? TimeSpan.FromSeconds(seconds) : null };
        foreach (var w in words.Skip(1))
        {
            if (w == "no-confirm")
                o = o with { NoConfirm = true };
            else if (w == "dry-run")
                o = o with { DryRun = true };
            else if (SshSession.FromWord(w) is { } ssh)
                o = o with { Ssh = ssh };
            else
                return null;
        }
        return o;
    }
}
