using System.Net;
using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

public sealed class EndpointTests
{
    private static EndpointSpec Parse(string text)
    {
        Assert.True(EndpointSpec.TryParse(text, out var endpoint, out string? error), error);
        return endpoint!;
    }

    [Theory]
    [InlineData("192.0.2.1:51820", "192.0.2.1", 51820, false)]
    [InlineData("[2001:db8::1]:443", "2001:db8::1", 443, false)]
    [InlineData("hq.example.net:51820", "hq.example.net", 51820, true)]
    [InlineData("localhost:1", "localhost", 1, true)]
    public void ParsesTheFormsWgAccepts(string text, string host, int port, bool isName)
    {
        var e = Parse(text);
        Assert.Equal(host, e.Host);
        Assert.Equal(port, e.Port);
        Assert.Equal(isName, e.IsHostName);
        Assert.Equal(text, e.ToString());
    }

    [Theory]
    [InlineData("999.1.1.1:51820")]
    [InlineData("hq.example.net:65536")]
    [InlineData("[2001:db8::1]51820")]
    [InlineData("[hq.example.net]:51820")]
    [InlineData("-bad-.example:1")]
    [InlineData(":51820")]
    public void RefusesWhatWgWouldNot(string text)
        => Assert.False(EndpointSpec.TryParse(text, out _, out _));

    [Fact]
    public void HostNamesAreReResolvedOnlyWhileThePeerIsSilent()
    {
        var name = Parse("hq.example.net:51820");
        var now = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
        Assert.True(EndpointResolver.IsDue(name, null, null, now));
        Assert.False(EndpointResolver.IsDue(name, now.AddSeconds(-60), now.AddSeconds(-600), now));
        Assert.True(EndpointResolver.IsDue(name, now.AddSeconds(-200), now.AddSeconds(-600), now));
        Assert.False(EndpointResolver.IsDue(name, now.AddSeconds(-200), now.AddSeconds(-10), now));
        Assert.False(EndpointResolver.IsDue(Parse("192.0.2.1:51820"), null, null, now));
    }

    [Fact]
    public async Task ResolvesLiteralsAndNames()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 7), await EndpointResolver.ResolveAsync(Parse("192.0.2.1:7"), CancellationToken.None));
        var local = await EndpointResolver.ResolveAsync(Parse("localhost:51820"), CancellationToken.None);
        Assert.NotNull(local);
        Assert.True(IPAddress.IsLoopback(local.Address));
        Assert.Equal(51820, local.Port);
    }
}
