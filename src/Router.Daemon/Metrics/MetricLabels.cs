namespace Router.Daemon.Metrics;

/// <summary>Label values as Prometheus users expect them: snake_case (the engine's drop reasons are PascalCase).</summary>
internal static class MetricLabels
{
    /// <summary>"BadMac1" -> "bad_mac1", "AllowedIpsMismatch" -> "allowed_ips_mismatch"; snake_case stays as it is.</summary>
    public static string Snake(string name)
    {
        int upper = 0;
        foreach (char c in name)
            upper += char.IsAsciiLetterUpper(c) ? 1 : 0;
        if (upper == 0)
            return name;
        return string.Create(name.Length + upper - (char.IsAsciiLetterUpper(name[0]) ? 1 : 0), name, static (span, name) =>
        {
            int j = 0;
            for (int i = 0; i < name.Length; i++)
            {
                char c = name[i];
                if (char.IsAsciiLetterUpper(c))
                {
                    if (i > 0)
                        span[j++] = '_';
                    span[j++] = char.ToLowerInvariant(c);
                }
                else
                {
                    span[j++] = c;
                }
            }
        });
    }
}
