namespace Router.Crypto.Tests;

/// <summary>
/// The libsodium checks the arm64 conformance runner also runs (<see cref="SodiumChecks"/>), here on every path this
/// x64 CPU offers: Vector128 is SSE2 here, the same code that is NEON on arm64 except for the multiply and interleave.
/// </summary>
public sealed class SodiumDifferentialTests
{
    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void Poly1305MatchesLibsodium(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        List<string> failures = SodiumChecks.Poly1305(path, 1305 + (int)path);
        Assert.True(failures.Count == 0, $"{Poly1305.NameOf(path)}: {string.Join("; ", failures.Take(20))}");
    }

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void AeadsMatchLibsodium(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        List<string> failures = SodiumChecks.Aead(path, 8439 + (int)path);
        Assert.True(failures.Count == 0, string.Join("; ", failures.Take(20)));
    }
}
