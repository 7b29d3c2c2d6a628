using System.Security.Cryptography;
using Router.Tunnel.Cookies;
using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

public sealed class CookieTests
{
    private static (CookieChecker Checker, CookieGenerator Generator, VirtualClock Clock) Pair()
    {
        var clock = new VirtualClock();
        byte[] responderPublic = RandomNumberGenerator.GetBytes(32);
        var checker = new CookieChecker(clock);
        checker.SetPublicKey(responderPublic);
        var generator = new CookieGenerator(clock);
        generator.SetRemotePublicKey(responderPublic);
        return (checker, generator, clock);
    }

    private static byte[] Initiation(CookieGenerator generator)
    {
        var message = RandomNumberGenerator.GetBytes(148);
        BitConverter.TryWriteBytes(message, 1u);
        generator.AddMacs(message);
        return message;
    }

    [Fact]
    public void CookieFromAReplyMakesMac2ValidForThatSourceOnly()
    {
        var (checker, generator, _) = Pair();
        var source = Endpoint.FromBytes([192, 0, 2, 1], 51820);
        byte[] first = Initiation(generator);
        Assert.Equal(MacState.ValidMacButNoCookie, checker.Validate(first, source, checkCookie: true));

        var reply = new byte[64];
        checker.CreateReply(first, 0x11223344, source, reply);
        Assert.Equal(0x11223344u, BitConverter.ToUInt32(reply, 4));
        Assert.True(generator.ConsumeReply(reply));
        Assert.False(generator.ConsumeReply(reply)); // one reply per message sent

        byte[] second = Initiation(generator);
        Assert.Equal(MacState.ValidMacWithCookie, checker.Validate(second, source, checkCookie: true));
        Assert.Equal(MacState.ValidMacButNoCookie, checker.Validate(second, Endpoint.FromBytes([192, 0, 2, 1], 51821), checkCookie: true));
        second[10] ^= 1;
        Assert.Equal(MacState.InvalidMac, checker.Validate(second, source, checkCookie: true));
    }

    [Fact]
    public void SecretRotatesAfter120SecondsAndCookiesStopBeingUsedBefore()
    {
        var (checker, generator, clock) = Pair();
        var source = Endpoint.FromBytes([192, 0, 2, 1], 51820);
        byte[] first = Initiation(generator);
        var reply = new byte[64];
        checker.CreateReply(first, 1, source, reply);
        Assert.True(generator.ConsumeReply(reply));

        clock.Advance(TimeSpan.FromSeconds(114));
        byte[] stillGood = Initiation(generator);
        Assert.Equal(MacState.ValidMacWithCookie, checker.Validate(stillGood, source, checkCookie: true));

        clock.Advance(TimeSpan.FromSeconds(2)); // 116 s: the initiator no longer sends its cookie
        Assert.True(Initiation(generator).AsSpan(132).IndexOfAnyExcept((byte)0) < 0);

        clock.Advance(TimeSpan.FromSeconds(5)); // 121 s: the responder's secret has changed
        Assert.Equal(MacState.ValidMacButNoCookie, checker.Validate(stillGood, source, checkCookie: true));
    }

    [Fact]
    public void ReplyWithWrongAssociatedMac1IsRejected()
    {
        var (checker, generator, _) = Pair();
        var source = Endpoint.FromBytes([192, 0, 2, 1], 51820);
        byte[] sent = Initiation(generator);
        byte[] other = Initiation(generator); // the generator now expects a reply to this one
        var reply = new byte[64];
        checker.CreateReply(sent, 1, source, reply);
        Assert.False(generator.ConsumeReply(reply));
        checker.CreateReply(other, 1, source, reply);
        Assert.True(generator.ConsumeReply(reply));
    }
}
