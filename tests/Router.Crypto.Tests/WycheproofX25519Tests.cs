namespace Router.Crypto.Tests;

/// <summary>
/// Project Wycheproof's X25519 vectors (518: 265 valid, 253 acceptable: twist points, non-canonical and low-order
/// public keys) through X25519.TryAgree (libsodium via NSec). Every vector whose shared secret is not all zero must
/// agree and give exactly that secret; the 31 whose shared secret is all zero (low-order points) must be refused,
/// as WireGuard requires (whitepaper section 5.4.3 / the zero check of RFC 7748 section 6.1).
/// </summary>
public sealed class WycheproofX25519Tests
{
    private static readonly WycheproofFile Vectors = WycheproofFile.Load("x25519_test.json");

    [Fact]
    public void EveryVector()
    {
        Assert.Equal(Vectors.DeclaredCount, Vectors.Tests.Count);
        var failures = new List<string>();
        int agreed = 0, refused = 0;
        byte[] shared = new byte[32];
        foreach (WycheproofTest test in Vectors.Tests)
        {
            bool lowOrder = WycheproofChecks.IsLowOrderCase(test);
            if (WycheproofChecks.X25519(test, shared) is { } failure)
            {
                failures.Add($"tcId {test.TcId} ({test.Result}, {string.Join("/", test.Flags)}): {failure}");
            }
            else if (lowOrder)
            {
                refused++;
            }
            else
            {
                agreed++;
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(31, refused);
        Assert.Equal(Vectors.DeclaredCount - 31, agreed);
    }
}
