using System.Security.Cryptography;

namespace Router.Daemon.Config;

/// <summary>
/// A 32-byte secret (a private key or a pre-shared key) read from a key file. The bytes sit in a pinned array so the
/// garbage collector never leaves copies behind, are zeroed on <see cref="Dispose"/>, and never print.
/// </summary>
internal sealed class SecretKey : IDisposable
{
    public const int Size = 32;

    private readonly byte[] _bytes = GC.AllocateUninitializedArray<byte>(Size, pinned: true);
    private bool _disposed;

    public SecretKey(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
            throw new ArgumentException($"a key is {Size} bytes", nameof(bytes));
        bytes.CopyTo(_bytes);
    }

    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _bytes;
        }
    }

    /// <summary>Constant-time comparison of the contents (the diff asks whether a key file's key changed).</summary>
    public bool ContentEquals(SecretKey? other)
        => other is not null && CryptographicOperations.FixedTimeEquals(Bytes, other.Bytes);

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_bytes);
        _disposed = true;
    }

    public override string ToString() => "(secret)";
}
