namespace Router.Crypto.Tests;

/// <summary>The per-packet path must not allocate: a steady-state router would otherwise feed the GC per packet.</summary>
public sealed class AllocationTests
{
    [Fact]
    public void AeadAndHashesAllocateNothing()
    {
        byte[] key = new byte[32], nonce24 = new byte[24], plain = new byte[1420], box = new byte[1436], digest = new byte[32];
        byte[] t1 = new byte[32], t2 = new byte[32], t3 = new byte[32];

        void Work()
        {
            ChaCha20Poly1305.Encrypt(key, 1UL, plain, default, box);
            ChaCha20Poly1305.Decrypt(key, 1UL, box, default, plain);
            XChaCha20Poly1305.Encrypt(key, nonce24, plain, default, box);
            XChaCha20Poly1305.Decrypt(key, nonce24, box, default, plain);
            Blake2s.Hash(plain, digest);
            Blake2s.KeyedHash(key, plain, digest.AsSpan(0, 16));
            Kdf.Derive3(key, plain.AsSpan(0, 32), t1, t2, t3);
        }

        Work();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            Work();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
