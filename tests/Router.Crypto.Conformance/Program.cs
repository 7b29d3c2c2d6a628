using Router.Crypto;
using Router.Crypto.Tests;

// Every Wycheproof vector on every ChaCha20 path this CPU runs (on arm64: Scalar and Vector128, which is NEON), and
// X25519; then Poly1305 and both AEADs against this platform's libsodium for every length 0..1100 on each path (the
// Vector128 AEAD path runs the NEON Poly1305 too). Prints one line per check and path and a closing
// "conformance: N passed, N failed"; exits 1 on any failure.
int passed = 0, failed = 0;

void Report(string what, List<string> failures, int count)
{
    Console.WriteLine($"  {(failures.Count == 0 ? "ok  " : "FAIL")}  {what}: {count - failures.Count}/{count}");
    foreach (string f in failures.Take(10))
        Console.WriteLine($"        {f}");
    if (failures.Count == 0) passed++; else failed++;
}

void Aead(WycheproofFile file, ChaCha20Implementation path, int nonceSize, WycheproofChecks.Seal seal, WycheproofChecks.Open open)
{
    var failures = new List<string>();
    foreach (WycheproofTest test in file.Tests)
    {
        if (WycheproofChecks.Aead(test, nonceSize, seal, open) is { } f)
            failures.Add($"tcId {test.TcId}: {f}");
    }
    Report($"{file.Name} on {path}", failures, file.Tests.Count);
}

WycheproofFile chacha = WycheproofFile.Load("chacha20_poly1305_test.json");
WycheproofFile xchacha = WycheproofFile.Load("xchacha20_poly1305_test.json");
WycheproofFile x25519 = WycheproofFile.Load("x25519_test.json");
foreach (ChaCha20Implementation path in Enum.GetValues<ChaCha20Implementation>())
{
    if (!ChaCha20.IsSupported(path))
        continue;
    Aead(chacha, path, ChaCha20Poly1305.NonceSize,
        (k, n, p, a, o) => ChaCha20Poly1305.Encrypt(path, k, n, p, a, o),
        (k, n, c, a, o) => ChaCha20Poly1305.Decrypt(path, k, n, c, a, o));
    Aead(xchacha, path, XChaCha20Poly1305.NonceSize,
        (k, n, p, a, o) => XChaCha20Poly1305.Encrypt(path, k, n, p, a, o),
        (k, n, c, a, o) => XChaCha20Poly1305.Decrypt(path, k, n, c, a, o));
}
{
    var failures = new List<string>();
    byte[] shared = new byte[32];
    foreach (WycheproofTest test in x25519.Tests)
    {
        if (WycheproofChecks.X25519(test, shared) is { } f)
            failures.Add($"tcId {test.TcId}: {f}");
    }
    Report(x25519.Name, failures, x25519.Tests.Count);
}
Console.WriteLine($"  paths: ChaCha20 {ChaCha20Poly1305.ImplementationName}, Poly1305 {ChaCha20Poly1305.Poly1305ImplementationName}");
foreach (ChaCha20Implementation path in Enum.GetValues<ChaCha20Implementation>())
{
    if (!ChaCha20.IsSupported(path))
        continue;
    Report($"Poly1305 {Poly1305.NameOf(path)} vs libsodium, lengths 0..{SodiumChecks.MaxLength} x 2 thresholds", SodiumChecks.Poly1305(path, 1305 + (int)path), 2 * (SodiumChecks.MaxLength + 1));
    Report($"ChaCha20/XChaCha20-Poly1305 on {path} vs libsodium, lengths 0..{SodiumChecks.MaxLength}", SodiumChecks.Aead(path, 8439 + (int)path), 4 * (SodiumChecks.MaxLength + 1));
}
bool complete = chacha.Tests.Count == chacha.DeclaredCount && xchacha.Tests.Count == xchacha.DeclaredCount && x25519.Tests.Count == x25519.DeclaredCount;
if (!complete)
{
    Console.WriteLine("  FAIL  a file holds fewer vectors than its numberOfTests");
    failed++;
}
Console.WriteLine($"conformance: {passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;
