using BenchmarkDotNet.Attributes;
using NSec.Cryptography;
using NetChaCha = System.Security.Cryptography.ChaCha20Poly1305;
using NSecAead = NSec.Cryptography.AeadAlgorithm;
using NSecKey = NSec.Cryptography.Key;
using RouterAead = Router.Crypto.ChaCha20Poly1305;

namespace Router.Bench;

/// <summary>
/// One AEAD seal plus open per operation (what a tunnel does per packet, once on each end) at the sizes that matter:
/// a keepalive-sized message, a full 1420-byte MTU packet, and a 64 KiB GSO super-packet. Router's own code against
/// libsodium through NSec and .NET's ChaCha20Poly1305 through OpenSSL, all on the same keys and buffers.
/// </summary>
[MemoryDiagnoser]
public class AeadBenchmarks
{
    private readonly byte[] _key = new byte[32];
    private readonly byte[] _nonce = new byte[12];
    private byte[] _plaintext = [];
    private byte[] _ciphertext = [];
    private byte[] _tag = new byte[16];
    private byte[] _opened = [];
    private NSecKey? _sodiumKey;
    private NetChaCha? _dotnet;

    [Params(64, 1420, 65536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        System.Security.Cryptography.RandomNumberGenerator.Fill(_key);
        _plaintext = new byte[Size];
        _ciphertext = new byte[Size + 16];
        _opened = new byte[Size];
        System.Security.Cryptography.RandomNumberGenerator.Fill(_plaintext);
        _sodiumKey = NSecKey.Import(NSecAead.ChaCha20Poly1305, _key, KeyBlobFormat.RawSymmetricKey);
        _dotnet = new NetChaCha(_key);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sodiumKey?.Dispose();
        _dotnet?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "libsodium (NSec)")]
    public bool Libsodium()
    {
        NSecAead.ChaCha20Poly1305.Encrypt(_sodiumKey!, _nonce, default, _plaintext, _ciphertext);
        return NSecAead.ChaCha20Poly1305.Decrypt(_sodiumKey!, _nonce, default, _ciphertext, _opened);
    }

    [Benchmark(Description = "Router")]
    public bool Router()
    {
        RouterAead.Encrypt(_key, 0UL, _plaintext, default, _ciphertext);
        return RouterAead.Decrypt(_key, 0UL, _ciphertext, default, _opened);
    }

    [Benchmark(Description = ".NET (OpenSSL)")]
    public bool DotNet()
    {
        _dotnet!.Encrypt(_nonce, _plaintext, _ciphertext.AsSpan(0, Size), _tag);
        _dotnet.Decrypt(_nonce, _ciphertext.AsSpan(0, Size), _tag, _opened);
        return true;
    }
}

/// <summary>The handshake-side primitives: BLAKE2s over a handshake-sized message, the KDF, and an X25519 agreement.</summary>
[MemoryDiagnoser]
public class HandshakeBenchmarks
{
    private readonly byte[] _message = new byte[148];
    private readonly byte[] _digest = new byte[32];
    private readonly byte[] _key = new byte[32];
    private readonly byte[] _t1 = new byte[32], _t2 = new byte[32], _t3 = new byte[32];
    private readonly byte[] _privateKey = new byte[32];
    private readonly byte[] _publicKey = new byte[32];
    private readonly byte[] _shared = new byte[32];

    [GlobalSetup]
    public void Setup()
    {
        Router.Crypto.X25519.GeneratePrivateKey(_privateKey);
        Router.Crypto.X25519.DerivePublicKey(_privateKey, _publicKey);
    }

    [Benchmark(Description = "BLAKE2s-256 148 B")]
    public void Blake2s256() => Router.Crypto.Blake2s.Hash(_message, _digest);

    [Benchmark(Description = "BLAKE2s-128 keyed 116 B (mac1)")]
    public void Blake2sMac() => Router.Crypto.Blake2s.KeyedHash(_key, _message.AsSpan(0, 116), _digest.AsSpan(0, 16));

    [Benchmark(Description = "KDF3")]
    public void Kdf3() => Router.Crypto.Kdf.Derive3(_key, _message.AsSpan(0, 32), _t1, _t2, _t3);

    [Benchmark(Description = "X25519 agreement (NSec)")]
    public bool X25519() => Router.Crypto.X25519.TryAgree(_privateKey, _publicKey, _shared);
}
