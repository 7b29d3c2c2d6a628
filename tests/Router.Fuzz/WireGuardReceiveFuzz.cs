using CsCheck;
using Router.Tunnel;
using Router.Tunnel.Tests;
using Xunit.Abstractions;

namespace Router.Fuzz;

/// <summary>
/// WireGuard messages of all four types, mutated from genuine ones and delivered through Device.HandleDatagrams (the
/// receive path routerd's UDP reader calls) while the message is live (see <see cref="WireGuardSession"/>); mac1 is
/// recomputed on most fuzzed handshakes so they get past the cheap check into Noise. Properties: nothing throws,
/// every message is accounted for (dropped and counted, or visibly handled), and the tunnel survives.
/// </summary>
public sealed class WireGuardReceiveFuzz(ITestOutputHelper output)
{
    private sealed record Input(Mutation[] Steps, bool FixMac1, int InnerSeed);

    [Fact]
    public void EveryMessageTypeMutatedIsDroppedAndCountedOrHandledAndTheTunnelSurvives()
    {
        byte[][] corpus = Corpus.Load("wireguard");
        byte[][] inner = Corpus.Load("inner-packets");
        var gen = Gen.Select(Mutation.Steps(), Gen.Int[0, 3].Select(n => n != 0), Gen.Int[0, inner.Length - 1], (s, f, i) => new Input(s, f, i));
        var others = new List<byte[]>(corpus);
        WireGuardSession session = new();
        int sessions = 0, degraded = 0, recovered = 0, slowest = 0;
        long unaccounted = 0;
        var drops = new long[DropCounters.Count];
        try
        {
            FuzzRun.Run(output, "wireguard", gen, input =>
            {
                if (!session.Feed(input.Steps, input.FixMac1, others, inner[input.InnerSeed]))
                    unaccounted++;
                if (session.Current == WireGuardSession.Phase.Done)
                {
                    int seconds = session.AssertTunnelStillWorks();
                    if (seconds > 0)
                    {
                        recovered++;
                        slowest = Math.Max(slowest, seconds);
                    }
                    if (session.Degraded)
                        degraded++;
                    session.AddDrops(drops);
                    others.RemoveRange(corpus.Length, others.Count - corpus.Length);
                    others.AddRange(session.Genuine);
                    session.Dispose();
                    session = new WireGuardSession();
                    sessions++;
                }
                Assert.Equal(0, unaccounted);
            });
        }
        finally
        {
            session.Dispose();
        }
        // Which checks the inputs reached: the deep ones (HandshakeFailed, BadCookieReply, DecryptFailed, inner-packet
        // checks) show the fuzzed messages got past the cheap ones.
        output.WriteLine("drops by reason: " + string.Join(", ", Enum.GetValues<DropReason>().Where(r => drops[(int)r] > 0).Select(r => $"{r} {drops[(int)r]}")));
        output.WriteLine($"{sessions} sessions, {degraded} could not capture a genuine message, {recovered} needed the timers to rekey (slowest {slowest} s of virtual time)");
        Assert.True(degraded <= sessions / 10 + 1, $"{degraded} of {sessions} sessions degraded");
    }
}
