using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Router.Crypto;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// An attacker for the flood test: UDP sockets bound to many source addresses in its own namespace, each connected
/// to routerd's port, sending malformed datagrams (every size from 0 to 1472 and every message type, reserved bytes
/// set now and then) and handshake initiations whose mac1 is valid for routerd's public key (random otherwise, so
/// each costs the responder a Diffie-Hellman when processed), or wrong (what anyone can send without knowing the
/// key), each at its own paced rate.
/// </summary>
internal sealed class Flooder : IDisposable
{
    /// <summary>Largest UDP payload that fits a 1500-byte veth MTU unfragmented.</summary>
    public const int MaxDatagram = 1472;

    private readonly Socket[] _sockets;
    private volatile bool _disposed; // a failed test disposes the flooder while Run still goes: Run stops
    private readonly byte[] _random = new byte[1 << 16];
    private readonly byte[][] _initiations = new byte[512][];

    /// <summary>Datagrams sent so far, by kind (the kernel accepted them for sending).</summary>
    public long MalformedSent, InitiationsSent;

    private Flooder(Socket[] sockets, ReadOnlySpan<byte> responderPublicKey, bool validMac1)
    {
        _sockets = sockets;
        new Random(13).NextBytes(_random);
        Span<byte> mac1Key = stackalloc byte[32];
        var state = new Blake2sState(32);
        state.Update("mac1----"u8);
        state.Update(responderPublicKey);
        state.Finish(mac1Key);
        for (int i = 0; i < _initiations.Length; i++)
        {
            var m = System.Security.Cryptography.RandomNumberGenerator.GetBytes(148);
            BinaryPrimitives.WriteUInt32LittleEndian(m, 1);
            if (validMac1)
                Blake2s.KeyedHash(mac1Key, m.AsSpan(0, 116), m.AsSpan(116, 16)); // else: the random bytes there
            m.AsSpan(132).Clear(); // no cookie: under load each one earns a cookie reply, nothing more
            _initiations[i] = m;
        }
    }

    /// <summary>Opens one socket per source address inside <paramref name="ns"/> (sockets keep their namespace).</summary>
    public static Flooder Open(Netns ns, IReadOnlyList<IPAddress> sources, IPEndPoint target, byte[] responderPublicKey, bool validMac1 = true)
        => ns.Run(() =>
        {
            var sockets = new Socket[sources.Count];
            for (int i = 0; i < sources.Count; i++)
            {
                sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                sockets[i].Bind(new IPEndPoint(sources[i], 0));
                sockets[i].Connect(target);
            }
            return new Flooder(sockets, responderPublicKey, validMac1);
        });

    /// <summary>The n-th malformed datagram: sizes and types cycle independently, so every pair comes up.</summary>
    private ReadOnlySpan<byte> Malformed(long n, Span<byte> buffer)
    {
        int size = (int)(n * 7919 % (MaxDatagram + 1));
        Span<byte> d = buffer[..size];
        _random.AsSpan((int)(n * 131 % (_random.Length - MaxDatagram)), size).CopyTo(d);
        if (size >= 4)
        {
            d[0] = (byte)(n % 7); // 0 and 5, 6 unknown; 1-4 at the wrong size or with a bad mac1 / unknown index
            d[1] = d[2] = d[3] = 0;
            if (n % 13 == 0)
                d[2] = 1; // nonzero reserved byte: an unknown type
        }
        return d;
    }

    /// <summary>
    /// Sends for <paramref name="duration"/> at up to the given rates (0: none; int.MaxValue: as fast as it goes), or
    /// until <paramref name="stop"/>. Each send goes to the next source address in turn.
    /// </summary>
    public void Run(TimeSpan duration, int malformedPerSecond, int initiationsPerSecond, CancellationToken stop)
    {
        Span<byte> buffer = stackalloc byte[MaxDatagram];
        var watch = Stopwatch.StartNew();
        long malformed = 0, initiations = 0, turn = 0;
        while (watch.Elapsed < duration && !stop.IsCancellationRequested && !_disposed)
        {
            double t = watch.Elapsed.TotalSeconds;
            long malformedDue = malformedPerSecond == int.MaxValue ? malformed + 64 : (long)(t * malformedPerSecond);
            long initiationsDue = initiationsPerSecond == int.MaxValue ? initiations + 64 : (long)(t * initiationsPerSecond);
            bool sent = false;
            for (int i = 0; i < 64 && malformed < malformedDue; i++, malformed++, sent = true)
                Send(_sockets[turn++ % _sockets.Length], Malformed(malformed, buffer), ref MalformedSent);
            for (int i = 0; i < 64 && initiations < initiationsDue; i++, initiations++, sent = true)
                Send(_sockets[turn++ % _sockets.Length], _initiations[initiations % _initiations.Length], ref InitiationsSent);
            if (!sent)
                Thread.Sleep(1);
        }
    }

    private static void Send(Socket socket, ReadOnlySpan<byte> datagram, ref long counter)
    {
        try
        {
            socket.Send(datagram);
            Interlocked.Increment(ref counter);
        }
        catch (SocketException)
        {
            // ENOBUFS / ECONNREFUSED from an earlier ICMP error: not sent, not counted
        }
        catch (ObjectDisposedException)
        {
            // disposed under a running flood (the test failed): Run sees it next round
        }
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var s in _sockets)
            s.Dispose();
    }
}
