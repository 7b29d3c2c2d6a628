using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Router.Tunnel.Noise;

/// <summary>16 bytes held by value: mac1 keys' outputs, cookies.</summary>
[InlineArray(16)]
internal struct Bytes16
{
    private byte _element0;

    public void Clear() => CryptographicOperations.ZeroMemory(this);
}

/// <summary>12 bytes: a TAI64N timestamp.</summary>
[InlineArray(12)]
internal struct Bytes12
{
    private byte _element0;
}
