using System.Buffers.Binary;
using Router.Tunnel.Routing;

namespace Router.Tunnel.Tests;

/// <summary>The trie against a deliberately naive reference (a list scanned for the longest match), as the kernel's selftest/allowedips.c.</summary>
public sealed class AllowedIpsTests
{
    private sealed class Owner(int id)
    {
        public override string ToString() => $"peer{id}";
    }

    /// <summary>Every prefix in a list; lookup scans all of them. Obviously right, obviously slow.</summary>
    private sealed class NaiveTable
    {
        private readonly List<(UInt128 Bits, int Cidr, int Width, Owner Peer)> _entries = new();

        public void Insert(byte[] address, int cidr, Owner peer)
        {
            UInt128 bits = Masked(address, cidr);
            _entries.RemoveAll(e => e.Width == address.Length && e.Cidr == cidr && e.Bits == bits);
            _entries.Add((bits, cidr, address.Length, peer));
        }

        public void Remove(byte[] address, int cidr, Owner peer)
        {
            UInt128 bits = Masked(address, cidr);
            _entries.RemoveAll(e => e.Width == address.Length && e.Cidr == cidr && e.Bits == bits && e.Peer == peer);
        }

        public void RemoveByPeer(Owner peer) => _entries.RemoveAll(e => e.Peer == peer);

        public Owner? Lookup(byte[] address)
        {
            (int Cidr, Owner? Peer) best = (-1, null);
            foreach (var e in _entries)
            {
                if (e.Width == address.Length && Masked(address, e.Cidr) == e.Bits && e.Cidr > best.Cidr)
                    best = (e.Cidr, e.Peer);
            }
            return best.Peer;
        }

        public int Count => _entries.Count;

        public static UInt128 Masked(byte[] address, int cidr)
        {
            UInt128 v = address.Length == 4
                ? (UInt128)BinaryPrimitives.ReadUInt32BigEndian(address) << 96
                : BinaryPrimitives.ReadUInt128BigEndian(address);
            return cidr == 0 ? 0 : v & (UInt128.MaxValue << (128 - cidr));
        }
    }

    [Theory]
    [InlineData(4, 1)]
    [InlineData(16, 2)]
    public void RandomInsertsRemovesAndLookupsMatchNaiveReference(int width, int seed)
    {
        var random = new Random(seed);
        var owners = Enumerable.Range(0, 16).Select(i => new Owner(i)).ToArray();
        var trie = new AllowedIps<Owner>();
        var naive = new NaiveTable();
        var inserted = new List<(byte[] Address, int Cidr, Owner Peer)>();
        // Addresses drawn from a small pool of prefixes so that prefixes nest and collide often.
        byte[] RandomAddress()
        {
            var a = new byte[width];
            random.NextBytes(a);
            a[0] = (byte)(random.Next(4) * 64);
            if (random.Next(2) == 0)
                a[1] = 0;
            return a;
        }

        for (int round = 0; round < 4000; round++)
        {
            int op = random.Next(10);
            if (op < 6 || inserted.Count == 0)
            {
                byte[] address = RandomAddress();
                int cidr = random.Next(width * 8 + 1);
                Owner peer = owners[random.Next(owners.Length)];
                trie.Insert(address, cidr, peer);
                naive.Insert(address, cidr, peer);
                inserted.Add((address, cidr, peer));
            }
            else if (op < 9)
            {
                var (address, cidr, _) = inserted[random.Next(inserted.Count)];
                Owner peer = random.Next(3) == 0 ? owners[random.Next(owners.Length)] : naive.Lookup(address) ?? owners[0];
                trie.Remove(address, cidr, peer);
                naive.Remove(address, cidr, peer);
            }
            else
            {
                Owner peer = owners[random.Next(owners.Length)];
                trie.RemoveByPeer(peer);
                naive.RemoveByPeer(peer);
            }

            for (int probe = 0; probe < 8; probe++)
            {
                byte[] address = probe % 2 == 0 ? RandomAddress() : inserted[random.Next(inserted.Count)].Address;
                Assert.Same(naive.Lookup(address), trie.Lookup(address));
            }
        }
        Assert.Equal(naive.Count, trie.Count);
    }

    [Fact]
    public void LongestPrefixWinsAndPrefixMovesBetweenPeers()
    {
        var a = new Owner(1);
        var b = new Owner(2);
        var trie = new AllowedIps<Owner>();
        trie.Insert([10, 0, 0, 0], 8, a);
        trie.Insert([10, 1, 0, 0], 16, b);
        Assert.Same(a, trie.Lookup([10, 2, 3, 4]));
        Assert.Same(b, trie.Lookup([10, 1, 3, 4]));
        Assert.Null(trie.Lookup([11, 1, 3, 4]));

        trie.Insert([10, 1, 0, 0], 16, a); // moves
        Assert.Same(a, trie.Lookup([10, 1, 3, 4]));
        var prefixes = new List<(byte[] Address, int Cidr)>();
        trie.Enumerate(b, prefixes);
        Assert.Empty(prefixes);
        trie.Enumerate(a, prefixes);
        Assert.Equal(2, prefixes.Count);
    }

    [Fact]
    public void EnumeratesInInsertionOrderLikeWireguardGo()
    {
        var a = new Owner(1);
        var b = new Owner(2);
        var trie = new AllowedIps<Owner>();
        trie.Insert([10, 7, 0, 0], 16, a);
        trie.Insert([0xfd, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 48, a);
        trie.Insert([0, 0, 0, 0], 1, a);
        trie.Insert([10, 8, 1, 1], 32, b);
        trie.Insert([10, 8, 1, 1], 32, a); // moves to a: last
        trie.Insert([10, 7, 0, 0], 16, a); // set again: last, as the kernel's list_move_tail
        var prefixes = new List<(byte[] Address, int Cidr)>();
        trie.Enumerate(a, prefixes);
        Assert.Equal(["fd00:7::/48", "0.0.0.0/1", "10.8.1.1/32", "10.7.0.0/16"],
            prefixes.Select(p => $"{new System.Net.IPAddress(p.Address)}/{p.Cidr}"));
        prefixes.Clear();
        trie.Enumerate(b, prefixes);
        Assert.Empty(prefixes);
        Assert.True(trie.Remove([0, 0, 0, 0], 1, a));
        prefixes.Clear();
        trie.Enumerate(a, prefixes);
        Assert.Equal(3, prefixes.Count);
    }

    [Fact]
    public void RemoveOneEntryOnlyForItsOwnerAndDefaultRoutes()
    {
        var a = new Owner(1);
        var b = new Owner(2);
        var trie = new AllowedIps<Owner>();
        trie.Insert(new byte[4], 0, a);
        trie.Insert(new byte[16], 0, b);
        trie.Insert([192, 168, 1, 0], 24, b);
        Assert.Same(a, trie.Lookup([8, 8, 8, 8]));
        Assert.Same(b, trie.Lookup(new byte[16] { 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }));
        Assert.False(trie.Remove([192, 168, 1, 0], 24, a)); // not a's
        Assert.True(trie.Remove([192, 168, 1, 77], 24, b)); // host bits ignored
        Assert.Same(a, trie.Lookup([192, 168, 1, 5]));
        Assert.Equal(2, trie.Count);
    }
}
