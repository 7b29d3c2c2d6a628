using System.Globalization;

namespace Router.Daemon.Config;

/// <summary>
/// A <see cref="ConfigDiff"/> as lines for people, one per changed setting, each named by its JSON path in the new
/// file (in the old one for what is removed), e.g. <c>interfaces.wg0.peers[1].allowedIps (lab): 10.20.0.0/24 -> 10.21.0.0/24</c>.
/// Peers are matched by public key, as the diff is, so a peer keeps its name in the line even when the list was
/// reordered. Secrets never appear: a changed private or pre-shared key prints as "(changed)".
/// </summary>
internal static class ConfigDiffText
{
    public static IReadOnlyList<string> Lines(RouterConfig? before, RouterConfig after, ConfigDiff diff)
    {
        var lines = new List<string>();
        foreach (var i in diff.InterfacesAdded)
            lines.Add($"+ interfaces.{i.Name} ({i.Peers.Count} peer(s), addresses {List(i.Addresses)})");
        foreach (var i in diff.InterfacesRemoved)
            lines.Add($"- interfaces.{i.Name} ({i.Peers.Count} peer(s)): the interface is deleted");
        foreach (var change in diff.InterfacesChanged)
        {
            var o = before?.Interface(change.Name);
            var n = after.Interface(change.Name);
            if (o is null || n is null)
                continue;
            string at = $"interfaces.{change.Name}";
            if (change.Device.HasFlag(DeviceFields.PrivateKey))
                lines.Add($"  {at}.privateKey: (changed): every peer must be given the new public key");
            if (change.Device.HasFlag(DeviceFields.ListenPort))
                lines.Add($"  {at}.listenPort: {Port(o.ListenPort)} -> {Port(n.ListenPort)}");
            if (change.Device.HasFlag(DeviceFields.FwMark))
                lines.Add($"  {at}.fwmark: {o.FwMark} -> {n.FwMark}");
            if (change.Device.HasFlag(DeviceFields.Addresses))
                lines.Add($"  {at}.addresses: {List(o.Addresses)} -> {List(n.Addresses)}");
            if (change.Device.HasFlag(DeviceFields.Mtu))
                lines.Add($"  {at}.mtu: {o.Mtu} -> {n.Mtu}");
            // A name that leaves under one key and comes back under another is the same site with a new key.
            foreach (var p in change.PeersAdded)
            {
                if (change.PeersRemoved.FirstOrDefault(r => r.Name == p.Name) is { } old)
                    lines.Add($"  {at}.peers[{Index(n, p.PublicKey)}].publicKey ({p.Name}): {old.PublicKey} -> {p.PublicKey}");
                else
                    lines.Add($"+ {at}.peers[{Index(n, p.PublicKey)}] ({p.Name}): allowedIps {List(p.AllowedIps)}, endpoint {p.Endpoint?.ToString() ?? "(none)"}");
            }
            foreach (var p in change.PeersRemoved)
            {
                if (!change.PeersAdded.Any(a => a.Name == p.Name))
                    lines.Add($"- {at}.peers[{Index(o, p.PublicKey)}] ({p.Name}): removed");
            }
            foreach (var p in change.PeersChanged)
            {
                var op = o.Peer(p.PublicKey)!;
                var np = n.Peer(p.PublicKey)!;
                string peer = $"{at}.peers[{Index(n, p.PublicKey)}]";
                string who = $" ({np.Name})";
                if (p.Fields.HasFlag(PeerFields.Name))
                    lines.Add($"  {peer}.name: {op.Name} -> {np.Name}");
                if (p.Fields.HasFlag(PeerFields.PresharedKey))
                    lines.Add($"  {peer}.presharedKey{who}: (changed)");
                if (p.Fields.HasFlag(PeerFields.Endpoint))
                    lines.Add($"  {peer}.endpoint{who}: {op.Endpoint?.ToString() ?? "(none)"} -> {np.Endpoint?.ToString() ?? "(none)"}");
                if (p.Fields.HasFlag(PeerFields.AllowedIps))
                    lines.Add($"  {peer}.allowedIps{who}: {List(op.AllowedIps)} -> {List(np.AllowedIps)}");
                if (p.Fields.HasFlag(PeerFields.PersistentKeepalive))
                    lines.Add($"  {peer}.persistentKeepalive{who}: {op.PersistentKeepalive} -> {np.PersistentKeepalive}");
            }
        }
        if (diff.ForwardingChanged && before is not null)
        {
            var (o, n) = (before.Forwarding, after.Forwarding);
            if (o.Enabled != n.Enabled)
                lines.Add($"  forwarding.enabled: {Bool(o.Enabled)} -> {Bool(n.Enabled)}");
            if (!o.Masquerade.SequenceEqual(n.Masquerade))
                lines.Add($"  forwarding.masquerade: {List(o.Masquerade)} -> {List(n.Masquerade)}");
            if (o.MssClamp != n.MssClamp)
                lines.Add($"  forwarding.mssClamp: {Bool(o.MssClamp)} -> {Bool(n.MssClamp)}");
        }
        if (diff.MetricsChanged && before is not null)
        {
            if (before.Metrics.Enabled != after.Metrics.Enabled)
                lines.Add($"  metrics.enabled: {Bool(before.Metrics.Enabled)} -> {Bool(after.Metrics.Enabled)}");
            if (before.Metrics.Listen != after.Metrics.Listen)
                lines.Add($"  metrics.listen: {before.Metrics.Listen} -> {after.Metrics.Listen}");
        }
        if (diff.StateChanged && before is not null)
            lines.Add($"  state.timestampFloorFile: {before.State.TimestampFloorFile} -> {after.State.TimestampFloorFile}");
        if (diff.LedsChanged)
            lines.Add("  leds: (changed)");
        return lines;
    }

    private static int Index(InterfaceConfig config, PublicKey key)
    {
        for (int i = 0; i < config.Peers.Count; i++)
        {
            if (config.Peers[i].PublicKey == key)
                return i;
        }
        return -1;
    }

    private static string Port(int? port) => port?.ToString(CultureInfo.InvariantCulture) ?? "(any)";

    private static string Bool(bool b) => b ? "true" : "false";

    private static string List<T>(IReadOnlyList<T> items) => items.Count == 0 ? "[]" : "[" + string.Join(", ", items) + "]";
}
