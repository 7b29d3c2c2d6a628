using System.Security.Cryptography;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Tunnel.Tests;

/// <summary>
/// Makes two devices peers for the pipeline and allocation tests: fresh identities on listen ports 1 and 2, A sends
/// 10.0.0.2/32 to B at <paramref name="addressB"/>:2, B takes 10.0.0.1/32 from A and learns A's endpoint.
/// </summary>
internal static class DeviceJoin
{
    /// <summary>Returns A's peer entry for B (tests change its endpoint or remove it).</summary>
    public static PeerConfig Join(Device a, Device b, byte[] addressB)
    {
        a.Configure(new DeviceConfig { PrivateKey = Key32.From(RandomNumberGenerator.GetBytes(32)), ListenPort = 1 });
        b.Configure(new DeviceConfig { PrivateKey = Key32.From(RandomNumberGenerator.GetBytes(32)), ListenPort = 2 });
        var toB = new PeerConfig(b.Snapshot().PublicKey!.Value) { Endpoint = Endpoint.FromBytes(addressB, 2) };
        toB.AllowedIps.Add(new(AllowedIp.Parse("10.0.0.2/32")));
        var toA = new PeerConfig(a.Snapshot().PublicKey!.Value);
        toA.AllowedIps.Add(new(AllowedIp.Parse("10.0.0.1/32")));
        var ca = new DeviceConfig();
        ca.Peers.Add(toB);
        a.Configure(ca);
        var cb = new DeviceConfig();
        cb.Peers.Add(toA);
        b.Configure(cb);
        return toB;
    }
}
