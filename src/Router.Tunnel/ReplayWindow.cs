namespace Router.Tunnel;

/// <summary>
/// Sliding window of received transport counters (RFC 6479 style, as the kernel's noise_replay_counter): a ring of
/// 128 blocks of 64 bits; the usable window is 8192 - 64 = 8128 counters behind the greatest one seen.
/// </summary>
/// <remarks>Not thread-safe: the owner serialises calls (the keypair's receive side). Usable at its zero value.</remarks>
internal struct ReplayWindow
{
    private const int BitsPerBlock = 64;
    private const int BitsTotal = 8192;
    private const int Blocks = BitsTotal / BitsPerBlock;
    /// <summary>How far behind the greatest counter a packet may arrive and still be accepted.</summary>
    public const int WindowSize = BitsTotal - BitsPerBlock; // 8128

    private ulong _greatest; // greatest counter seen, plus one (0 = nothing seen)
    private Ring _ring;

    [System.Runtime.CompilerServices.InlineArray(Blocks)]
    private struct Ring
    {
        private ulong _element0;
    }

    public void Reset()
    {
        _greatest = 0;
        ((Span<ulong>)_ring).Clear();
    }

    /// <summary>
    /// Accepts <paramref name="counter"/> once: false if it was seen, is too old, or is at or past the reject limit.
    /// Call only after the packet authenticated, or a forged counter would slide the window.
    /// </summary>
    public bool TryAccept(ulong counter, ulong rejectAfter = ProtocolConstants.RejectAfterMessages)
    {
        if (_greatest >= rejectAfter + 1 || counter >= rejectAfter)
            return false;
        counter++;
        if (counter + WindowSize < _greatest)
            return false;
        ulong index = counter / BitsPerBlock;
        Span<ulong> ring = _ring;
        if (counter > _greatest)
        {
            ulong current = _greatest / BitsPerBlock;
            ulong top = Math.Min(index - current, Blocks);
            for (ulong i = 1; i <= top; i++)
                ring[(int)((i + current) & (Blocks - 1))] = 0;
            _greatest = counter;
        }
        ref ulong block = ref ring[(int)(index & (Blocks - 1))];
        ulong bit = 1UL << (int)(counter & (BitsPerBlock - 1));
        if ((block & bit) != 0)
            return false;
        block |= bit;
        return true;
    }
}
