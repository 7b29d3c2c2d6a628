namespace Router.Crypto.Tests;

/// <summary>
/// What one Wycheproof vector demands, as a failure text or null; shared by the xunit tests and the AOT conformance
/// runner (tests/Router.Crypto.Conformance), which runs the same checks on arm64 under qemu, where NEON executes.
/// </summary>
internal static class WycheproofChecks
{
    public delegate void Seal(byte[] key, byte[] nonce, byte[] plaintext, byte[] ad, byte[] output);

    public delegate bool Open(byte[] key, byte[] nonce, byte[] sealedBox, byte[] ad, byte[] output);

    /// <summary>
    /// A valid vector must encrypt to exactly ct || tag and decrypt back to msg; an invalid one (a modified tag, a
    /// nonce of the wrong size) must be rejected: Open returns false with the output zeroed, or a wrong nonce size
    /// throws ArgumentException in both directions before anything is computed.
    /// </summary>
    public static string? Aead(WycheproofTest test, int nonceSize, Seal seal, Open open)
    {
        byte[] key = test["key"], nonce = test["iv"], ad = test["aad"], msg = test["msg"];
        byte[] sealedBox = [.. test["ct"], .. test["tag"]];
        // The wrong-nonce-size vectors carry no ciphertext or tag at all.
        byte[] opened = new byte[Math.Max(0, sealedBox.Length - 16)];
        if (test.Result == "valid")
        {
            byte[] encrypted = new byte[msg.Length + 16];
            seal(key, nonce, msg, ad, encrypted);
            if (!encrypted.AsSpan().SequenceEqual(sealedBox))
            {
                return "encryption differs";
            }

            if (!open(key, nonce, sealedBox, ad, opened) || !opened.AsSpan().SequenceEqual(msg))
            {
                return "decryption failed or differs";
            }

            return null;
        }

        if (nonce.Length != nonceSize)
        {
            bool sealThrew = Throws(() => seal(key, nonce, msg, ad, new byte[msg.Length + 16]));
            bool openThrew = Throws(() => open(key, nonce, sealedBox, ad, opened));
            return sealThrew && openThrew ? null : "a wrong nonce size was accepted";
        }

        Array.Fill(opened, (byte)0xA5);
        if (open(key, nonce, sealedBox, ad, opened))
        {
            return "an invalid ciphertext was accepted";
        }

        return opened.AsSpan().ContainsAnyExcept((byte)0) ? "the output was not zeroed after a rejection" : null;
    }

    /// <summary>A vector whose shared secret is all zeros: a low-order public key, which WireGuard must refuse.</summary>
    public static bool IsLowOrderCase(WycheproofTest test) => !test["shared"].AsSpan().ContainsAnyExcept((byte)0);

    /// <summary>Every other vector must agree on exactly the expected secret; a low-order one must be refused, zeroed.</summary>
    public static string? X25519(WycheproofTest test, byte[] shared)
    {
        Array.Fill(shared, (byte)0xA5);
        bool ok = Router.Crypto.X25519.TryAgree(test["private"], test["public"], shared);
        if (IsLowOrderCase(test))
        {
            return ok || shared.AsSpan().ContainsAnyExcept((byte)0) ? "a low-order public key was accepted or the output not zeroed" : null;
        }

        return !ok || !shared.AsSpan().SequenceEqual(test["shared"]) ? "wrong or refused shared secret" : null;
    }

    private static bool Throws(Action action)
    {
        try
        {
            action();
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
