using System.Runtime.InteropServices;

// Router.AeadCount IMPL SIZE ITERATIONS: seals SIZE bytes (no associated data, as WireGuard's transport messages)
// ITERATIONS times with IMPL = routerd | libsodium | openssl and prints one byte of the last tag, so that nothing is
// optimized away. The counting script runs it twice with different ITERATIONS and subtracts: start-up cancels out.
if (args.Length != 3 || !int.TryParse(args[1], out int size) || !int.TryParse(args[2], out int iterations) || size < 0 || iterations < 0)
{
    Console.Error.WriteLine("usage: Router.AeadCount routerd|libsodium|openssl SIZE ITERATIONS");
    return 2;
}
byte[] key = new byte[32], nonce = new byte[12], plain = new byte[size], sealedBox = new byte[size + 16];
for (int i = 0; i < key.Length; i++)
    key[i] = (byte)(i * 7 + 1);
for (int i = 0; i < plain.Length; i++)
    plain[i] = (byte)i;
switch (args[0])
{
    case "routerd":
        for (int i = 0; i < iterations; i++)
        {
            nonce[4] = (byte)i;
            Router.Crypto.ChaCha20Poly1305.Encrypt(key, nonce, plain, default, sealedBox);
        }
        break;
    case "libsodium":
        if (Sodium.sodium_init() < 0)
            return 1;
        for (int i = 0; i < iterations; i++)
        {
            nonce[4] = (byte)i;
            Sodium.crypto_aead_chacha20poly1305_ietf_encrypt(sealedBox, out _, plain, (ulong)plain.Length, null, 0, IntPtr.Zero, nonce, key);
        }
        break;
    case "openssl":
        OpenSsl.Seal(key, nonce, plain, sealedBox, iterations);
        break;
    default:
        Console.Error.WriteLine($"unknown implementation '{args[0]}'");
        return 2;
}
Console.WriteLine(sealedBox[^1]);
return 0;

internal static partial class Sodium
{
    [LibraryImport("libsodium")]
    internal static partial int sodium_init();

    [LibraryImport("libsodium")]
    internal static partial int crypto_aead_chacha20poly1305_ietf_encrypt(byte[] c, out ulong clen, byte[] m, ulong mlen, byte[]? ad, ulong adlen, IntPtr nsec, byte[] npub, byte[] k);
}

/// <summary>OpenSSL's EVP ChaCha20-Poly1305 (its assembly: NEON on arm64) through libcrypto.so.3, looked up at run time.</summary>
internal static unsafe class OpenSsl
{
    private const int CtrlAeadGetTag = 0x10;

    public static void Seal(byte[] key, byte[] nonce, byte[] plain, byte[] sealedBox, int iterations)
    {
        IntPtr lib = NativeLibrary.Load("libcrypto.so.3");
        var newCtx = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "EVP_CIPHER_CTX_new");
        var cipher = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "EVP_chacha20_poly1305");
        var init = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, byte*, byte*, int>)NativeLibrary.GetExport(lib, "EVP_EncryptInit_ex");
        var update = (delegate* unmanaged<IntPtr, byte*, int*, byte*, int, int>)NativeLibrary.GetExport(lib, "EVP_EncryptUpdate");
        var final = (delegate* unmanaged<IntPtr, byte*, int*, int>)NativeLibrary.GetExport(lib, "EVP_EncryptFinal_ex");
        var ctrl = (delegate* unmanaged<IntPtr, int, int, byte*, int>)NativeLibrary.GetExport(lib, "EVP_CIPHER_CTX_ctrl");
        IntPtr ctx = newCtx();
        fixed (byte* k = key, n = nonce, p = plain, c = sealedBox)
        {
            if (init(ctx, cipher(), IntPtr.Zero, k, null) != 1)
                throw new InvalidOperationException("EVP_EncryptInit_ex failed");
            for (int i = 0; i < iterations; i++)
            {
                nonce[4] = (byte)i;
                int outLength, finalLength;
                // A new nonce per message, the key kept: what a tunnel does per packet.
                if (init(ctx, IntPtr.Zero, IntPtr.Zero, null, n) != 1 || update(ctx, c, &outLength, p, plain.Length) != 1
                    || final(ctx, c + outLength, &finalLength) != 1 || ctrl(ctx, CtrlAeadGetTag, 16, c + plain.Length) != 1)
                    throw new InvalidOperationException("OpenSSL seal failed");
            }
        }
    }
}
