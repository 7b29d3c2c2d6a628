using System.Buffers.Binary;
using System.Security.Cryptography;
using Router.Tunnel.Noise;

namespace Router.Tunnel;

/// <summary>
/// Maps the random 32-bit indices we hand out (sender index of our handshake messages) to the handshake or
/// keypair they name (whitepaper 5.4.2: indices are random so they reveal nothing about peers or order).
/// </summary>
/// <remarks>Guarded by the device lock.</remarks>
internal sealed class IndexTable
{
    internal readonly struct Entry(Peer peer, Keypair? keypair)
    {
        public readonly Peer Peer = peer;
        /// <summary>Null while the index names a handshake in progress.</summary>
        public readonly Keypair? Keypair = keypair;
    }

    private readonly Dictionary<uint, Entry> _entries = new();

    public int Count => _entries.Count;

    /// <summary>Reserves a fresh random index for a handshake of <paramref name="peer"/>.</summary>
    public uint NewHandshakeIndex(Peer peer)
    {
        Span<byte> random = stackalloc byte[4];
        while (true)
        {
            RandomNumberGenerator.Fill(random);
            uint index = BinaryPrimitives.ReadUInt32LittleEndian(random);
            if (_entries.TryAdd(index, new Entry(peer, null)))
                return index;
        }
    }

    /// <summary>The handshake's index now names the keypair derived from it.</summary>
    public void Promote(uint index, Peer peer, Keypair keypair) => _entries[index] = new Entry(peer, keypair);

    public bool TryGet(uint index, out Entry entry) => _entries.TryGetValue(index, out entry);

    public void Remove(uint index) => _entries.Remove(index);
}
