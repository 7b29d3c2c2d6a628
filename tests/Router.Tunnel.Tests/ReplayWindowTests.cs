using static Router.Tunnel.ProtocolConstants;

namespace Router.Tunnel.Tests;

/// <summary>The kernel's selftest/counter.c cases, numbered in the same order, against <see cref="ReplayWindow"/>.</summary>
public sealed class ReplayWindowTests
{
    private const ulong Window = ReplayWindow.WindowSize;
    private const ulong Lim = Window + 1;

    public static TheoryData<int, ulong, bool> Table()
    {
        var rows = new TheoryData<int, ulong, bool>();
        int n = 0;
        void T(ulong counter, bool expected) => rows.Add(++n, counter, expected);
        T(0, true);
        T(1, true);
        T(1, false);
        T(9, true);
        T(8, true);
        T(7, true);
        T(7, false);
        T(Lim, true);
        T(Lim - 1, true);
        T(Lim - 1, false);
        T(Lim - 2, true);
        T(2, true);
        T(2, false);
        T(Lim + 16, true);
        T(3, false);
        T(Lim + 16, false);
        T(Lim * 4, true);
        T(Lim * 4 - (Lim - 1), true);
        T(10, false);
        T(Lim * 4 - Lim, false);
        T(Lim * 4 - (Lim + 1), false);
        T(Lim * 4 - (Lim - 2), true);
        T(Lim * 4 + 1 - Lim, false);
        T(0, false);
        T(RejectAfterMessages, false);
        T(RejectAfterMessages - 1, true);
        T(RejectAfterMessages, false);
        T(RejectAfterMessages - 1, false);
        T(RejectAfterMessages - 2, true);
        T(RejectAfterMessages + 1, false);
        T(RejectAfterMessages + 2, false);
        T(RejectAfterMessages - 2, false);
        T(RejectAfterMessages - 3, true);
        T(0, false);
        return rows;
    }

    [Fact]
    public void KernelCounterTableInOrder()
    {
        var window = new ReplayWindow();
        foreach (var row in Table())
        {
            int number = (int)row[0];
            ulong counter = (ulong)row[1];
            bool expected = (bool)row[2];
            Assert.True(window.TryAccept(counter) == expected, $"case {number}: counter {counter} expected {expected}");
        }
    }

    [Fact]
    public void AscendingFillsWholeWindowThenZeroStillFits()
    {
        var w = new ReplayWindow();
        for (ulong i = 1; i <= Window; i++)
            Assert.True(w.TryAccept(i));
        Assert.True(w.TryAccept(0));
        Assert.False(w.TryAccept(0));
    }

    [Fact]
    public void AscendingOnePastWindowDropsZero()
    {
        var w = new ReplayWindow();
        for (ulong i = 2; i <= Window + 1; i++)
            Assert.True(w.TryAccept(i));
        Assert.True(w.TryAccept(1));
        Assert.False(w.TryAccept(0));
    }

    [Fact]
    public void DescendingWithinWindowAllAccepted()
    {
        var w = new ReplayWindow();
        for (ulong i = Window + 1; i-- > 0;)
            Assert.True(w.TryAccept(i));
    }

    [Fact]
    public void DescendingFromPastWindowDropsZero()
    {
        var w = new ReplayWindow();
        for (ulong i = Window + 2; i-- > 1;)
            Assert.True(w.TryAccept(i));
        Assert.False(w.TryAccept(0));
    }

    [Fact]
    public void DescendingThenJumpDropsZero()
    {
        var w = new ReplayWindow();
        for (ulong i = Window + 1; i-- > 1;)
            Assert.True(w.TryAccept(i));
        Assert.True(w.TryAccept(Window + 1));
        Assert.False(w.TryAccept(0));
    }

    [Fact]
    public void DescendingThenZeroThenJump()
    {
        var w = new ReplayWindow();
        for (ulong i = Window + 1; i-- > 1;)
            Assert.True(w.TryAccept(i));
        Assert.True(w.TryAccept(0));
        Assert.True(w.TryAccept(Window + 1));
    }

    [Fact]
    public void ResetForgetsEverything()
    {
        var w = new ReplayWindow();
        Assert.True(w.TryAccept(5));
        w.Reset();
        Assert.True(w.TryAccept(5));
    }
}
