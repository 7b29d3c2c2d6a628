using Router.Crypto;

namespace Router.Tunnel.Noise;

/// <summary>
/// One session's transport keys (whitepaper 5.4.5): derived when a handshake completes, used for at most
/// REJECT_AFTER_TIME or REJECT_AFTER_MESSAGES, then discarded.
/// </summary>
/// <remarks>
/// Guarded by the device lock: the send counter, replay window and validity change only under it. The keys alone are
/// also read by crypto workers outside the lock: each worker holds a reference (<see cref="Acquire"/>, taken under the
/// lock while the keypair is valid) and the keys are zeroed only when the last reference goes (<see cref="Release"/>),
/// so retiring a keypair never races an encryption or decryption in flight.
/// </remarks>
internal sealed class Keypair
{
    // One reference belongs to the peer's keypair slot (dropped by Retire); workers add theirs for one packet each.
    private int _references = 1;
    private int _retired;

    public Key32 SendKey;
    public Key32 ReceiveKey;
    /// <summary>Next counter to send.</summary>
    public ulong SendCounter;
    public ReplayWindow Replay;
    /// <summary>Monotonic ticks when derived.</summary>
    public readonly long Created;
    public readonly bool IsInitiator;
    /// <summary>Our index: transport messages to us carry it as receiver.</summary>
    public readonly uint LocalIndex;
    /// <summary>The peer's index, written into every transport message we send.</summary>
    public readonly uint RemoteIndex;
    /// <summary>False once the keys were zeroed.</summary>
    public bool IsValid = true;

    public Keypair(long created, bool isInitiator, uint localIndex, uint remoteIndex)
    {
        Created = created;
        IsInitiator = isInitiator;
        LocalIndex = localIndex;
        RemoteIndex = remoteIndex;
    }

    public bool IsOlderThan(long now, TimeSpan age) => now - Created >= age.Ticks;

    /// <summary>Sending is allowed: keys present, younger than REJECT_AFTER_TIME, counter below the limit.</summary>
    public bool CanSend(long now) => IsValid && !IsOlderThan(now, ProtocolConstants.RejectAfterTime) && SendCounter < ProtocolConstants.RejectAfterMessages;

    public bool CanReceive(long now) => IsValid && !IsOlderThan(now, ProtocolConstants.RejectAfterTime);

    /// <summary>Takes a reference for a crypto worker. Call under the device lock, only while <see cref="IsValid"/>.</summary>
    public void Acquire() => Interlocked.Increment(ref _references);

    /// <summary>Drops a reference; the last one zeroes the keys.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            SendKey.Clear();
            ReceiveKey.Clear();
        }
    }

    /// <summary>Takes the keypair out of use (no new sends or receives); its keys are zeroed once no worker holds them.</summary>
    public void Retire()
    {
        IsValid = false;
        if (Interlocked.Exchange(ref _retired, 1) == 0)
            Release();
    }
}

/// <summary>
/// A peer's keypairs (kernel noise_keypairs): <c>Current</c> sends; <c>Previous</c> still receives late packets;
/// <c>Next</c> is a responder's new session, promoted once the initiator proves it has it by sending data on it.
/// </summary>
internal sealed class Keypairs
{
    public Keypair? Previous, Current, Next;

    /// <summary>Installs a freshly derived keypair; returns the keypairs it displaced (to unregister and zero).</summary>
    public void Add(Keypair fresh, IndexTable indices)
    {
        if (fresh.IsInitiator)
        {
            if (Next is not null)
            {
                // A responder session never confirmed: it becomes previous, the old current goes.
                Drop(Previous, indices);
                Previous = Next;
                Next = null;
                Drop(Current, indices);
            }
            else
            {
                Drop(Previous, indices);
                Previous = Current;
            }
            Current = fresh;
        }
        else
        {
            Drop(Next, indices);
            Next = fresh;
            Drop(Previous, indices);
            Previous = null;
        }
    }

    /// <summary>Called for every authenticated transport packet: first use of <c>Next</c> confirms it.</summary>
    public bool ReceivedWith(Keypair keypair, IndexTable indices)
    {
        if (!ReferenceEquals(keypair, Next))
            return false;
        Drop(Previous, indices);
        Previous = Current;
        Current = Next;
        Next = null;
        return true;
    }

    public void Clear(IndexTable indices)
    {
        Drop(Previous, indices);
        Drop(Current, indices);
        Drop(Next, indices);
        Previous = Current = Next = null;
    }

    private static void Drop(Keypair? keypair, IndexTable indices)
    {
        if (keypair is null)
            return;
        indices.Remove(keypair.LocalIndex);
        keypair.Retire();
    }
}
