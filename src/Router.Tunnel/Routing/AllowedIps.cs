using System.Buffers.Binary;
using System.Net;

namespace Router.Tunnel.Routing;

/// <summary>
/// Cryptokey routing table (whitepaper section 2): longest-prefix match from an IP address to the peer that owns
/// it, one path-compressed binary trie per address family (like wireguard-go's allowedips.go). Each prefix belongs
/// to exactly one peer; inserting it for another peer moves it. Each peer's prefixes are also kept in insertion order
/// (as wireguard-go's and the kernel's per-peer lists are), so get=1 lists them in the order they were configured and
/// `wg show`/`wg showconf` print what they print against the reference implementations.
/// </summary>
/// <remarks>Not thread-safe: the device's lock serialises writers with readers.</remarks>
internal sealed class AllowedIps<TPeer> where TPeer : class
{
    private sealed class Node
    {
        public UInt128 Bits;     // the prefix, left-aligned (IPv4 in the top 32 bits), zero past Cidr
        public int Cidr;
        public TPeer? Peer;
        public Node? Zero, One;
        public int Length;       // address bytes: 4 or 16
        public LinkedListNode<Node>? Entry; // in _byPeer[Peer] while Peer is set
    }

    private Node? _v4, _v6;
    private readonly Dictionary<TPeer, LinkedList<Node>> _byPeer = new(ReferenceEqualityComparer.Instance);

    /// <summary>Sets a node's owner and keeps the per-peer lists; <paramref name="toTail"/> re-appends even for the same owner.</summary>
    private void SetPeer(Node node, TPeer? peer, bool toTail = false)
    {
        if (ReferenceEquals(node.Peer, peer) && !toTail)
            return;
        if (node.Peer is not null && node.Entry is not null)
        {
            LinkedList<Node> list = node.Entry.List!;
            list.Remove(node.Entry);
            if (list.Count == 0)
                _byPeer.Remove(node.Peer);
            node.Entry = null;
        }
        node.Peer = peer;
        if (peer is not null)
        {
            if (!_byPeer.TryGetValue(peer, out LinkedList<Node>? list))
                _byPeer[peer] = list = new LinkedList<Node>();
            node.Entry = list.AddLast(node);
        }
    }

    /// <summary>Number of prefixes held.</summary>
    public int Count { get; private set; }

    public void Insert(ReadOnlySpan<byte> address, int cidr, TPeer peer)
    {
        (UInt128 key, int maxBits) = Key(address);
        ArgumentOutOfRangeException.ThrowIfNegative(cidr);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cidr, maxBits);
        ref Node? root = ref maxBits == 32 ? ref _v4 : ref _v6;
        Insert(ref root, Mask(key, cidr), cidr, peer, maxBits / 8);
    }

    public void Insert(IPAddress address, int cidr, TPeer peer)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int n);
        Insert(bytes[..n], cidr, peer);
    }

    /// <summary>Removes one prefix if <paramref name="peer"/> owns it; true when removed.</summary>
    public bool Remove(ReadOnlySpan<byte> address, int cidr, TPeer peer)
    {
        (UInt128 key, int maxBits) = Key(address);
        if (cidr < 0 || cidr > maxBits)
            return false;
        ref Node? root = ref maxBits == 32 ? ref _v4 : ref _v6;
        bool removed = Remove(ref root, Mask(key, cidr), cidr, peer);
        if (removed)
            Count--;
        return removed;
    }

    /// <summary>Removes every prefix of <paramref name="peer"/>.</summary>
    public void RemoveByPeer(TPeer peer)
    {
        var prefixes = new List<(byte[] Address, int Cidr)>();
        Enumerate(peer, prefixes);
        foreach (var (address, cidr) in prefixes)
            Remove(address, cidr, peer);
    }

    /// <summary>Longest-prefix match for a 4- or 16-byte address; null when nothing covers it.</summary>
    public TPeer? Lookup(ReadOnlySpan<byte> address)
    {
        Node? node;
        UInt128 key;
        int maxBits;
        if (address.Length == 4)
        {
            node = _v4;
            key = (UInt128)BinaryPrimitives.ReadUInt32BigEndian(address) << 96;
            maxBits = 32;
        }
        else
        {
            node = _v6;
            key = BinaryPrimitives.ReadUInt128BigEndian(address);
            maxBits = 128;
        }
        TPeer? found = null;
        while (node is not null && CommonBits(node.Bits, key) >= node.Cidr)
        {
            if (node.Peer is not null)
                found = node.Peer;
            if (node.Cidr == maxBits)
                break;
            node = BitAt(key, node.Cidr) ? node.One : node.Zero;
        }
        return found;
    }

    /// <summary>Appends every prefix of <paramref name="peer"/> (address bytes, cidr) to <paramref name="into"/>.</summary>
    /// <remarks>In insertion order; a prefix set again goes last, as in the kernel and wireguard-go.</remarks>
    public void Enumerate(TPeer peer, List<(byte[] Address, int Cidr)> into)
    {
        if (!_byPeer.TryGetValue(peer, out LinkedList<Node>? list))
            return;
        foreach (Node node in list)
        {
            var bytes = new byte[16];
            BinaryPrimitives.WriteUInt128BigEndian(bytes, node.Bits);
            into.Add((bytes[..node.Length], node.Cidr));
        }
    }

    private void Insert(ref Node? slot, UInt128 key, int cidr, TPeer peer, int length)
    {
        while (true)
        {
            Node? node = slot;
            if (node is null)
            {
                slot = new Node { Bits = key, Cidr = cidr, Length = length };
                SetPeer(slot, peer);
                Count++;
                return;
            }
            int common = CommonBits(node.Bits, key);
            if (node.Cidr == cidr && common >= cidr)
            {
                if (node.Peer is null)
                    Count++;
                SetPeer(node, peer, toTail: true); // same prefix: set or move to this peer, last in its list (as list_move_tail)
                return;
            }
            if (node.Cidr < cidr && common >= node.Cidr)
            {
                slot = ref BitAt(key, node.Cidr) ? ref node.One : ref node.Zero;
                continue;
            }
            // The new prefix diverges from this node above node.Cidr, or is a prefix of it: split here.
            var fresh = new Node { Bits = key, Cidr = cidr, Length = length };
            SetPeer(fresh, peer);
            Count++;
            int split = Math.Min(cidr, common);
            if (split == cidr)
            {
                // The new prefix covers the node: it becomes the node's parent.
                if (BitAt(node.Bits, cidr)) fresh.One = node; else fresh.Zero = node;
                slot = fresh;
                return;
            }
            var branch = new Node { Bits = Mask(key, split), Cidr = split, Length = length };
            if (BitAt(node.Bits, split)) { branch.One = node; branch.Zero = fresh; }
            else { branch.Zero = node; branch.One = fresh; }
            slot = branch;
            return;
        }
    }

    private bool Remove(ref Node? slot, UInt128 key, int cidr, TPeer peer)
    {
        Node? node = slot;
        if (node is null || CommonBits(node.Bits, key) < Math.Min(node.Cidr, cidr) || node.Cidr > cidr)
            return false;
        bool removed;
        if (node.Cidr == cidr)
        {
            if (!ReferenceEquals(node.Peer, peer))
                return false;
            SetPeer(node, null);
            removed = true;
        }
        else
        {
            removed = BitAt(key, node.Cidr) ? Remove(ref node.One, key, cidr, peer) : Remove(ref node.Zero, key, cidr, peer);
        }
        // Collapse nodes that no longer carry a peer and branch nowhere.
        if (removed && node.Peer is null)
        {
            if (node.Zero is null)
                slot = node.One;
            else if (node.One is null)
                slot = node.Zero;
        }
        return removed;
    }

    private static (UInt128 Key, int MaxBits) Key(ReadOnlySpan<byte> address) => address.Length switch
    {
        4 => ((UInt128)BinaryPrimitives.ReadUInt32BigEndian(address) << 96, 32),
        16 => (BinaryPrimitives.ReadUInt128BigEndian(address), 128),
        _ => throw new ArgumentException("An IP address is 4 or 16 bytes.", nameof(address)),
    };

    private static UInt128 Mask(UInt128 key, int cidr) => cidr == 0 ? UInt128.Zero : key & (UInt128.MaxValue << (128 - cidr));

    private static int CommonBits(UInt128 a, UInt128 b) => (int)UInt128.LeadingZeroCount(a ^ b);

    private static bool BitAt(UInt128 key, int bit) => bit < 128 && ((key >> (127 - bit)) & UInt128.One) != UInt128.Zero;
}
