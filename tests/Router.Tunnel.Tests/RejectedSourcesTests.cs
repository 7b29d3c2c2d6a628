using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

/// <summary>The bounded table of bad-mac1 sources: counts per address, oldest evicted, ports and local side ignored.</summary>
public sealed class RejectedSourcesTests
{
    private static Endpoint Ep(int host, ushort port) => new(new UInt128(0, 0x0000_FFFF_C000_0200UL | (uint)host), port, localAddress: 7, localInterface: 3);

    [Fact]
    public void CountsByAddressAndEvictsTheOldest()
    {
        var table = new RejectedSources();
        table.Record(Ep(1, 1000), now: 10);
        table.Record(Ep(1, 2000), now: 11); // same address, new NAT port: one entry
        for (int i = 2; i <= RejectedSources.Capacity; i++)
            table.Record(Ep(i, 1), now: 20 + i);
        table.Record(Ep(1, 2000), now: 50); // address 1 is now the newest
        table.Record(Ep(99, 1), now: 60);   // evicts address 2, seen longest ago

        var copy = new RejectedSource[RejectedSources.Capacity];
        Assert.Equal(RejectedSources.Capacity, table.CopyTo(copy));
        var one = Assert.Single(copy, e => e.Endpoint.Address == Ep(1, 0).Address);
        Assert.Equal(3, one.Count);
        Assert.Equal(2000, one.Endpoint.Port);
        Assert.Equal(UInt128.Zero, one.Endpoint.LocalAddress);
        Assert.DoesNotContain(copy, e => e.Endpoint.Address == Ep(2, 0).Address);
        Assert.Contains(copy, e => e.Endpoint.Address == Ep(99, 0).Address && e.Count == 1);
    }
}

/// <summary>The device records where bad-mac1 handshakes come from, for the daemon's "wrong public key" line.</summary>
public sealed class DeviceBadMac1SourcesTests
{
    [Fact]
    public void ABadMac1InitiationIsAttributedToItsSource()
    {
        using var net = new TwoDevices();
        var copy = new RejectedSource[Device.RejectedSourceCapacity];
        Assert.Equal(0, net.B.CopyBadMac1Sources(copy));
        var message = new byte[148];
        message[0] = 1; // an initiation whose mac1 is for no key of B's
        for (int i = 0; i < 3; i++)
            net.Deliver(message, Endpoint.FromBytes([203, 0, 113, 9], 4000), Endpoint.FromBytes(TwoDevices.AddressB, TwoDevices.PortB));
        Assert.Equal(3, net.B.Drops[DropReason.BadMac1]);
        Assert.Equal(1, net.B.CopyBadMac1Sources(copy));
        Assert.Equal(3, copy[0].Count);
        Assert.Equal("203.0.113.9:4000", copy[0].Endpoint.ToString());
    }

    [Fact]
    public void RecordingBadMac1SourcesAllocatesNothing()
    {
        using var net = new TwoDevices();
        var message = new byte[148];
        message[0] = 1;
        var to = Endpoint.FromBytes(TwoDevices.AddressB, TwoDevices.PortB);
        var sources = new Endpoint[20];
        for (int i = 0; i < sources.Length; i++)
            sources[i] = Endpoint.FromBytes([203, 0, 113, (byte)i], 4000); // more than the table holds: evictions too
        for (int i = 0; i < 100; i++)
            net.Deliver(message, sources[i % sources.Length], to);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
            net.Deliver(message, sources[i % sources.Length], to);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(10_100, net.B.Drops[DropReason.BadMac1]);
        Assert.True(allocated < 1000, $"{allocated} bytes for 10,000 bad-mac1 initiations");
    }
}

/// <summary>An initiation for us from a key no peer has is attributed to its source as an unknown key.</summary>
public sealed class DeviceUnknownKeySourcesTests
{
    [Fact]
    public void AnInitiationFromAnUnconfiguredKeyIsAttributedToItsSource()
    {
        using var net = new TwoDevices();
        net.B.Configure(new DeviceConfig { ReplacePeers = true });
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2")); // A initiates; B no longer has A's key
        net.Pump();
        var copy = new RejectedSource[Device.RejectedSourceCapacity];
        Assert.Equal(1, net.B.Drops[DropReason.NoPeer]);
        Assert.Equal(1, net.B.CopyUnknownKeySources(copy));
        Assert.Equal(1, copy[0].Count);
        Assert.Equal(0, net.B.CopyBadMac1Sources(copy));
    }
}
