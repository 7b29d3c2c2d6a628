using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

public sealed class RateLimiterTests
{
    [Fact]
    public void BurstOfFiveThenTwentyPerSecondPerSource()
    {
        var clock = new VirtualClock();
        var limiter = new RateLimiter(clock);
        var a = Endpoint.FromBytes([192, 0, 2, 1], 1000);
        var b = Endpoint.FromBytes([192, 0, 2, 2], 1000);
        for (int i = 0; i < 5; i++)
            Assert.True(limiter.Allow(a));
        Assert.False(limiter.Allow(a));
        Assert.True(limiter.Allow(b)); // another source has its own bucket

        clock.Advance(TimeSpan.FromMilliseconds(50)); // one token
        Assert.True(limiter.Allow(a));
        Assert.False(limiter.Allow(a));

        int allowed = 0;
        for (int i = 0; i < 1000; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            if (limiter.Allow(a))
                allowed++;
        }
        Assert.InRange(allowed, 199, 201); // 10 s at 20/s
    }

    [Fact]
    public void IPv6SourcesShareTheirSlash64AndIdleEntriesExpire()
    {
        var clock = new VirtualClock();
        var limiter = new RateLimiter(clock);
        byte[] x = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        byte[] y = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];
        for (int i = 0; i < 5; i++)
            Assert.True(limiter.Allow(Endpoint.FromBytes(x, 1)));
        Assert.False(limiter.Allow(Endpoint.FromBytes(y, 2)));
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.True(limiter.Allow(Endpoint.FromBytes([198, 51, 100, 1], 1)));
        Assert.Equal(1, limiter.Count);
    }
}
