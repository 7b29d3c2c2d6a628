namespace Router.Crypto.Tests;

public sealed class SelfTestTests
{
    [Fact]
    public void SelfTestPassesAndNamesEveryPrimitiveAndPath()
    {
        var output = new StringWriter();
        Assert.True(SelfTest.Run(output), output.ToString());
        string text = output.ToString();
        foreach (string primitive in new[] { "BLAKE2s", "KDF", "Poly1305", "ChaCha20-Poly1305", "XChaCha20-Poly1305", "X25519" })
        {
            Assert.Contains(primitive, text);
        }

        Assert.Contains(ChaCha20Poly1305.ImplementationName, text);
        Assert.Contains($"{"Poly1305",-20} {ChaCha20Poly1305.Poly1305ImplementationName}", text);
        Assert.DoesNotContain("FAIL", text);
    }

    [Fact]
    public void QuickBenchPrintsEveryPrimitive()
    {
        var output = new StringWriter();
        QuickBench.Run(output, TimeSpan.FromMilliseconds(5));
        string text = output.ToString();
        Assert.Contains("ChaCha20-Poly1305 encrypt  1420 B", text);
        Assert.Contains("XChaCha20-Poly1305", text);
        Assert.Contains("BLAKE2s", text);
        Assert.Contains("X25519", text);
        Assert.Contains("MB/s", text);
        Assert.Contains("ops/s", text);
    }
}
