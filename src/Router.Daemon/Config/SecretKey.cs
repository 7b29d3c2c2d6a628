using System.Security.Cryptography;
using Router.Crypto;

namespace Router.Daemon.Config;

/// <summary>
/// A 32-byte secret (a private key or a pre-shared key) read from a key file: a <see cref="Key32"/> in a pinned
/// one-element array, so the garbage collector never leaves copies behind; zeroed (by Key32) on
/// <see cref="Dispose"/>, and never printed.
/// </summary>
internal sealed class SecretKey : IDisposable
{
    public const int Size = 32;

    private readonly Key32[] _key = GC.AllocateArray<Key32>(1, pinned: true);
    private bool _disposed;

    public SecretKey(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
            throw new ArgumentException($"a key is {Size} bytes", nameof(bytes));
        bytes.CopyTo(_key[0].AsSpan());
    }

    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key[0].AsReadOnlySpan();
        }
    }

    /// <summary>Constant-time comparison of the contents (the diff asks whether a key file's key changed).</summary>
    public bool ContentEquals(SecretKey? other)
        => other is not null && CryptographicOperations.FixedTimeEquals(Bytes, other.Bytes);

    public void Dispose()
    {
        _key[0].Clear();
        _disposed = true;
    }

    public override string ToString() => "(secret)";
}
