using System.Text;
using Router.Daemon.Config;
using Router.Daemon.Hosting;

namespace Router.Daemon.Firmware;

/// <summary>
/// Keeps the image's firewall open on the ports routerd listens on. The image's base table (<c>inet router</c>,
/// /etc/nftables.conf) drops input by policy and accepts UDP to the set <c>wireguard_ports</c>. routerd cannot
/// open a port from its own table: a packet must be accepted by every table's input chain, so a drop there wins. It
/// therefore replaces that set's elements with the bound listen ports after each apply (one nft transaction), and
/// writes the same commands to a file nftables.conf includes, so `systemctl reload nftables` (which recreates the
/// set from the file) keeps the ports too. Where the set does not exist (another distribution's firewall) it says
/// once which ports to open and does nothing else.
/// </summary>
internal sealed class FirewallPorts
{
    public const string Table = "router";
    public const string Set = "wireguard_ports";
    public const string FileName = "wireguard-ports.nft";

    private readonly string _file;
    private string? _applied;
    private bool _absentSaid;

    /// <param name="file">Where the include file goes: /run/router/wireguard-ports.nft beside the status socket.</param>
    public FirewallPorts(string file) => _file = file;

    /// <summary>The include file beside the status socket (/run/router, where the image's nftables.conf looks).</summary>
    public static FirewallPorts ForStatusSocket(string statusSocket)
        => new(Path.Combine(Path.GetDirectoryName(statusSocket) ?? "/run/router", FileName));

    /// <summary>The nft commands that make the set hold exactly these ports.</summary>
    public static string Script(IEnumerable<int> ports)
    {
        var sorted = ports.Where(p => p is > 0 and <= 65535).Distinct().Order().ToArray();
        var s = new StringBuilder();
        s.Append("# Written by routerd: the UDP ports its interfaces listen on (router.json interfaces.*.listenPort).\n");
        s.Append("# /etc/nftables.conf includes this file; routerd rewrites it after every apply.\n");
        s.Append("flush set inet ").Append(Table).Append(' ').Append(Set).Append('\n');
        if (sorted.Length > 0)
            s.Append("add element inet ").Append(Table).Append(' ').Append(Set).Append(" { ").AppendJoin(", ", sorted).Append(" }\n");
        return s.ToString();
    }

    /// <summary>Makes the set hold the ports (when they changed since the last call); an error is returned for the apply's list.</summary>
    public string? Apply(IEnumerable<int> ports)
    {
        string script = Script(ports);
        if (script == _applied)
            return null;
        var (ok, message) = Nft.Run(script);
        if (ok)
        {
            // The same commands for nftables.conf's include: a reload recreates the set from the file, then adds these.
            try
            {
                AtomicFile.Write(_file, Encoding.ASCII.GetBytes(script));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return $"firewall: cannot write {_file} ({e.Message}): a reload of nftables would close the listen ports";
            }
            _applied = script;
            Log.Info($"firewall: set inet {Table} {Set} holds the listen ports ({PortList(ports)})");
            return null;
        }
        if (message.Contains("No such file or directory", StringComparison.Ordinal))
        {
            // Not the image's firewall: nothing to update here, and no error (the tunnels are fine).
            _applied = script;
            if (!_absentSaid)
                Log.Info($"firewall: no set inet {Table} {Set} here (not the image's /etc/nftables.conf); if a firewall drops input, open UDP {PortList(ports)} in it");
            _absentSaid = true;
            return null;
        }
        return $"firewall: listen ports not opened in set inet {Table} {Set}: {message}";
    }

    private static string PortList(IEnumerable<int> ports) => string.Join(", ", ports.Where(p => p > 0).Distinct().Order());
}
