using System.Runtime.InteropServices;
using Router.Linux.Interop;
using Router.Tunnel.IO;
using static Router.Linux.Interop.Socket;

namespace Router.Linux;

// A separate receive queue for everything that is not a transport message (issue 20: a handshake flood).
//
// Both sockets of a family join one SO_REUSEPORT group on the port, and a classic BPF program on the group picks the
// socket by the first payload byte (the kernel runs it with the UDP header pulled): type 4 (transport) -> the data
// socket, anything else -> the handshake socket. A flood of initiations then fills only the handshake socket's
// buffer and dies there, while the data socket's stays short: transport messages are never lost, nor queued, behind
// handshakes. Each read takes at most HandshakesPerRead from the handshake sockets, so neither starves the other.
// Where the kernel refuses the program (no SO_ATTACH_REUSEPORT_CBPF), the bind keeps one socket per family.
public sealed unsafe partial class UdpBind
{
    private const int SO_REUSEPORT = 15;
    private const int SO_ATTACH_REUSEPORT_CBPF = 51;

    /// <summary>Handshake sockets' receive buffer: deep enough for bursts, short enough that a flood adds no latency.</summary>
    private const int HandshakeBufferSize = 1 << 20;

    /// <summary>Datagrams one read takes from the handshake sockets, at most; the rest of the batch is the data socket's.</summary>
    private const int HandshakesPerRead = 32;

    private readonly SafeFd? _handshake4;
    private readonly SafeFd? _handshake6;
    private readonly ReceiveVectors? _receiveHandshake4;
    private readonly ReceiveVectors? _receiveHandshake6;

    /// <summary>Whether non-transport datagrams arrive on their own sockets (tests).</summary>
    internal bool HasHandshakeSockets => _handshake4 is not null || _handshake6 is not null;

    [StructLayout(LayoutKind.Sequential)]
    private struct SockFilter
    {
        public ushort Code;
        public byte JumpTrue;
        public byte JumpFalse;
        public uint K;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }

    /// <summary>
    /// After <paramref name="data"/> (index 0 of its reuseport group) is bound: the steering program on the group,
    /// then the handshake socket (index 1) on the same port. Null when the kernel refuses either: one socket it is.
    /// </summary>
    private static SafeFd? OpenHandshakeSocket(int family, ushort port, SafeFd data)
    {
        SockFilter* program = stackalloc SockFilter[4];
        program[0] = new SockFilter { Code = 0x30, K = 0 };                     // ldb [0]: the message type
        program[1] = new SockFilter { Code = 0x15, JumpTrue = 0, JumpFalse = 1, K = 4 }; // jeq #4 (transport)
        program[2] = new SockFilter { Code = 0x06, K = 0 };                     // ret #0: the data socket
        program[3] = new SockFilter { Code = 0x06, K = 1 };                     // ret #1: the handshake socket
        var fprog = new SockFprog { Length = 4, Filter = program };
        if (SetOption(data.Fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, (uint)sizeof(SockFprog)) != 0)
            return null;
        try
        {
            ushort same = port;
            return OpenSocket(family, ref same, reusePort: true, HandshakeBufferSize);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Up to <see cref="HandshakesPerRead"/> datagrams from the handshake sockets that may have some.</summary>
    private int ReceiveHandshakes(int ready, Span<PacketBuffer> packets)
    {
        packets = packets[..Math.Min(packets.Length, HandshakesPerRead)];
        int count = 0;
        if ((ready & 4) != 0)
            count += ReceivePlain(_handshake4!.Fd, _receiveHandshake4!, packets);
        if ((ready & 8) != 0 && count < packets.Length)
            count += ReceivePlain(_handshake6!.Fd, _receiveHandshake6!, packets[count..]);
        return count;
    }
}
