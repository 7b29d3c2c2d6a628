using System.Diagnostics;
using System.Globalization;

namespace Router.Crypto;

/// <summary>
/// A quick throughput check for `routerd bench`: runs each primitive for a fixed time on whatever CPU this is
/// (a person's Pi) and prints MB/s (1 MB = 10^6 bytes) or operations per second. Not a benchmark harness:
/// one thread, no statistics; BenchmarkDotNet in bench/ is the careful measurement.
/// </summary>
public static class QuickBench
{
    /// <summary>Runs every primitive for about <paramref name="perPrimitive"/> and writes one line each.</summary>
    public static void Run(TextWriter output, TimeSpan perPrimitive)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine($"ChaCha20 path: {ChaCha20Poly1305.ImplementationName}; Poly1305 path: {ChaCha20Poly1305.Poly1305ImplementationName}; {Environment.ProcessorCount} CPUs; {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}");

        byte[] key = new byte[32];
        byte[] buffer = new byte[65536 + 16];
        byte[] plain = new byte[65536];
        byte[] xnonce = new byte[24];
        System.Security.Cryptography.RandomNumberGenerator.Fill(key);

        foreach (int size in (ReadOnlySpan<int>)[64, 1420, 65536])
        {
            ulong counter = 0;
            Report(output, $"ChaCha20-Poly1305 encrypt {size,5} B", size, perPrimitive, () =>
                ChaCha20Poly1305.Encrypt(key, counter++, plain.AsSpan(0, size), default, buffer.AsSpan(0, size + 16)));

            ChaCha20Poly1305.Encrypt(key, 7UL, plain.AsSpan(0, size), default, buffer.AsSpan(0, size + 16));
            Report(output, $"ChaCha20-Poly1305 decrypt {size,5} B", size, perPrimitive, () =>
            {
                if (!ChaCha20Poly1305.Decrypt(key, 7UL, buffer.AsSpan(0, size + 16), default, plain.AsSpan(0, size)))
                {
                    throw new InvalidOperationException("QuickBench: decryption failed.");
                }
            });
        }

        Report(output, "XChaCha20-Poly1305 encrypt  1420 B", 1420, perPrimitive, () =>
            XChaCha20Poly1305.Encrypt(key, xnonce, plain.AsSpan(0, 1420), default, buffer.AsSpan(0, 1436)));

        byte[] digest = new byte[32];
        Report(output, "BLAKE2s-256               1420 B", 1420, perPrimitive, () => Blake2s.Hash(plain.AsSpan(0, 1420), digest));
        Report(output, "BLAKE2s-128 keyed (mac1)   116 B", 116, perPrimitive, () => Blake2s.KeyedHash(key, plain.AsSpan(0, 116), digest.AsSpan(0, 16)));

        byte[] t1 = new byte[32], t2 = new byte[32], t3 = new byte[32];
        ReportOperations(output, "KDF3 (HMAC-BLAKE2s)", perPrimitive, () => Kdf.Derive3(key, plain.AsSpan(0, 32), t1, t2, t3));

        byte[] privateKey = new byte[32], publicKey = new byte[32], shared = new byte[32];
        X25519.GeneratePrivateKey(privateKey);
        X25519.DerivePublicKey(privateKey, publicKey);
        ReportOperations(output, "X25519 agreement", perPrimitive, () => X25519.TryAgree(privateKey, publicKey, shared));

        System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(privateKey);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(shared);
    }

    private static void Report(TextWriter output, string name, int bytesPerCall, TimeSpan duration, Action action)
    {
        (long calls, double seconds) = Measure(duration, action);
        double megabytesPerSecond = calls * (double)bytesPerCall / seconds / 1e6;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-36} {megabytesPerSecond,10:F1} MB/s"));
    }

    private static void ReportOperations(TextWriter output, string name, TimeSpan duration, Action action)
    {
        (long calls, double seconds) = Measure(duration, action);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-36} {calls / seconds,10:F0} ops/s"));
    }

    private static (long Calls, double Seconds) Measure(TimeSpan duration, Action action)
    {
        // Warm up (tiered JIT promotes hot loops; AOT needs nothing), then run in batches to keep timer reads rare.
        for (int i = 0; i < 200; i++)
        {
            action();
        }

        long calls = 0;
        int batch = 16;
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < duration)
        {
            for (int i = 0; i < batch; i++)
            {
                action();
            }

            calls += batch;
            if (batch < 4096)
            {
                batch *= 2;
            }
        }

        return (calls, stopwatch.Elapsed.TotalSeconds);
    }
}
