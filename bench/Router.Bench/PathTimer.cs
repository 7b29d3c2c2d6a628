using System.Diagnostics;
using System.Globalization;
using Router.Crypto;

namespace Router.Bench;

/// <summary>
/// `--paths`: times each ChaCha20 path and Poly1305 separately with a stopwatch (seconds, not minutes), for tuning.
/// Absolute figures on a shared machine drift; compare lines from one run.
/// </summary>
internal static class PathTimer
{
    public static void Run(TextWriter output, int size, TimeSpan duration)
    {
        byte[] key = new byte[32], nonce = new byte[12], input = new byte[size], result = new byte[size + 16], tag = new byte[16];
        Span<uint> state = stackalloc uint[16];
        ChaCha20.InitializeState(state, key, 1, nonce);
        uint[] stateArray = state.ToArray();

        foreach (ChaCha20Implementation path in Enum.GetValues<ChaCha20Implementation>())
        {
            if (ChaCha20.IsSupported(path))
            {
                Time(output, $"ChaCha20 {ChaCha20.NameOf(path)}", size, duration, () => ChaCha20.Xor(path, stateArray, input, result.AsSpan(0, size)));
            }
        }

        Time(output, $"Poly1305 {ChaCha20Poly1305.Poly1305ImplementationName} (selected)", size, duration, () => Poly1305.Compute(key, input, tag));
        foreach (ChaCha20Implementation path in Enum.GetValues<ChaCha20Implementation>())
        {
            if (ChaCha20.IsSupported(path))
            {
                Time(output, $"Poly1305 {Poly1305.NameOf(path)}", size, duration, () => Poly1305.Compute(key, input, tag, Poly1305.DefaultVectorThreshold, path));
            }
        }

        foreach (ChaCha20Implementation path in Enum.GetValues<ChaCha20Implementation>())
        {
            if (ChaCha20.IsSupported(path))
            {
                Time(output, $"AEAD encrypt {ChaCha20.NameOf(path)}", size, duration, () => Router.Crypto.ChaCha20Poly1305.Encrypt(path, key, nonce, input, default, result));
            }
        }

        var sodium = NSec.Cryptography.AeadAlgorithm.ChaCha20Poly1305;
        using var sodiumKey = NSec.Cryptography.Key.Import(sodium, key, NSec.Cryptography.KeyBlobFormat.RawSymmetricKey);
        Time(output, "AEAD encrypt libsodium", size, duration, () => sodium.Encrypt(sodiumKey, nonce, default, input, result));
    }

    private static void Time(TextWriter output, string name, int size, TimeSpan duration, Action action)
    {
        for (int i = 0; i < 2000; i++)
        {
            action();
        }

        long calls = 0;
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < duration)
        {
            for (int i = 0; i < 256; i++)
            {
                action();
            }

            calls += 256;
        }

        double ns = stopwatch.Elapsed.TotalNanoseconds / calls;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-40} {ns,9:F0} ns  {size / ns,6:F2} GB/s"));
    }
}
