namespace Router.Crypto;

/// <summary>The ChaCha20 code paths, narrowest first. Each wider one also uses the narrower ones for tails.</summary>
internal enum ChaCha20Implementation
{
    /// <summary>One block at a time on 32-bit integers; runs everywhere (and under DOTNET_EnableHWIntrinsic=0).</summary>
    Scalar,

    /// <summary>4 blocks at once with the cross-platform Vector128 operators: NEON on ARM64, SSE on x86-64.</summary>
    Vector128,

    /// <summary>8 blocks at once with AVX2.</summary>
    Vector256,

    /// <summary>16 blocks at once with AVX-512F.</summary>
    Vector512,
}
