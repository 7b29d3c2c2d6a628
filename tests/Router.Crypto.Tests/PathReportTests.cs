using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Xunit.Abstractions;

namespace Router.Crypto.Tests;

/// <summary>Prints which paths this run exercises, so a CI log shows each DOTNET_Enable* leg did what it says.</summary>
public sealed class PathReportTests(ITestOutputHelper output)
{
    [Fact]
    public void ReportPaths()
    {
        output.WriteLine($"selected: {ChaCha20Poly1305.ImplementationName}");
        output.WriteLine($"Vector128.IsHardwareAccelerated={Vector128.IsHardwareAccelerated} Avx2={Avx2.IsSupported} Avx512F={Avx512F.IsSupported} Vector512.IsHardwareAccelerated={Vector512.IsHardwareAccelerated}");
        foreach (ChaCha20Implementation path in Enum.GetValues<ChaCha20Implementation>())
        {
            output.WriteLine($"{path}: {(ChaCha20.IsSupported(path) ? "tested" : "not available")}");
        }

        Assert.True(ChaCha20.IsSupported(ChaCha20Implementation.Scalar));
    }
}
