using System.Diagnostics;
using System.Security.Cryptography;
using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

/// <summary>The daemon's mode: worker threads, real clock, in-memory I/O.</summary>
public sealed class DeviceThreadedTests
{
    [Fact]
    public void StartCarriesTrafficAndStopJoinsThreads()
    {
        var net = new FakeNetwork { AutoDeliver = true };
        var tunA = new FakeTun();
        var tunB = new FakeTun();
        using var a = new Device(tunA, (port, _) => net.Open([127, 0, 0, 1], port));
        using var b = new Device(tunB, (port, _) => net.Open([127, 0, 0, 2], port));
        DeviceJoin.Join(a, b, [127, 0, 0, 2]);
        var faults = new List<Exception>();
        a.Faulted += faults.Add;
        b.Faulted += faults.Add;

        a.Start();
        b.Start();
        for (int i = 0; i < 20; i++)
            tunA.ToRead.Add(Ip.V4("10.0.0.1", "10.0.0.2", 100 + i));
        var watch = Stopwatch.StartNew();
        while (tunB.Written.Count < 20 && watch.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(10);
        Assert.Equal(20, tunB.Written.Count);

        // Rebinding while running: the receive thread follows the new bind.
        b.Configure(new DeviceConfig { ListenPort = 3 });
        tunB.ToRead.Add(Ip.V4("10.0.0.2", "10.0.0.1"));
        while (tunA.Written.IsEmpty && watch.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(10);
        Assert.Single(tunA.Written);

        a.Stop();
        b.Stop();
        Assert.Empty(faults);
    }
}
