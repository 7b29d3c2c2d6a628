using System.Text;
using Router.Daemon.Config;
using Router.Daemon.Hosting;

namespace Router.Daemon.Firmware;

/// <summary>
/// Site-to-site forwarding: IP forwarding through /proc/sys, and one nftables table, <c>inet routerd</c>, for
/// masquerade and TCP MSS clamping. The table is generated from the configuration and replaced in one transaction
/// (<c>nft -f -</c>: create, delete, create with the rules), so there is never a moment with half a ruleset.
/// </summary>
internal static class Forwarding
{
    public const string Table = "routerd";

    /// <summary>Writes the forwarding sysctls when enabled (left as they are otherwise); logs when /proc/sys is read-only.</summary>
    public static void ApplySysctls(ForwardingConfig forwarding)
    {
        if (!forwarding.Enabled)
            return;
        foreach (var path in new[] { "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding" })
        {
            try
            {
                if (RegularFile.Read(path, 64).Bytes is not byte[] value || System.Text.Encoding.ASCII.GetString(value).Trim() != "1")
                    File.WriteAllText(path, "1\n");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.Error($"forwarding: cannot write {path} ({e.Message}); set it in /etc/sysctl.d (under ProtectKernelTunables it is read-only)");
            }
        }
    }

    /// <summary>The nft script that replaces the table atomically; null when no rule is needed (then the table is deleted).</summary>
    public static string? Ruleset(ForwardingConfig forwarding, IEnumerable<string> tunnelInterfaces)
    {
        var tunnels = tunnelInterfaces.ToArray();
        bool clamp = forwarding.Enabled && forwarding.MssClamp && tunnels.Length > 0;
        bool masquerade = forwarding.Enabled && forwarding.Masquerade.Count > 0;
        if (!clamp && !masquerade)
            return null;
        var s = new StringBuilder();
        s.Append("table inet ").Append(Table).Append('\n');
        s.Append("delete table inet ").Append(Table).Append('\n');
        s.Append("table inet ").Append(Table).Append(" {\n");
        if (masquerade)
        {
            s.Append("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
            s.Append("\t\toifname ").Append(Set(forwarding.Masquerade)).Append(" masquerade\n");
            s.Append("\t}\n");
        }
        if (clamp)
        {
            // Clamp SYNs in both directions through the tunnel to the route's MTU (the tunnel's, 1420 by default).
            s.Append("\tchain forward {\n\t\ttype filter hook forward priority mangle; policy accept;\n");
            s.Append("\t\toifname ").Append(Set(tunnels)).Append(" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu\n");
            s.Append("\t\tiifname ").Append(Set(tunnels)).Append(" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu\n");
            s.Append("\t}\n");
        }
        s.Append("}\n");
        return s.ToString();
    }

    private static string Set(IEnumerable<string> names)
    {
        var quoted = names.Select(n => $"\"{n}\"").ToArray();
        return quoted.Length == 1 ? quoted[0] : "{ " + string.Join(", ", quoted) + " }";
    }

    /// <summary>Replaces (or removes) the table; logs and returns false when nft fails, the tunnels run on regardless.</summary>
    public static bool ApplyRuleset(string? ruleset)
    {
        string script = ruleset ?? $"table inet {Table}\ndelete table inet {Table}\n";
        var (ok, message) = Nft.Run(script);
        if (!ok)
            Log.Error($"nftables: {(ruleset is null ? "removing" : "applying")} table inet {Table} failed: {message}");
        else if (ruleset is not null)
            Log.Info($"nftables: table inet {Table} in place");
        return ok;
    }

    public static void Remove() => ApplyRuleset(null);
}
