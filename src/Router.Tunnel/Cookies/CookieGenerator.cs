using System.Security.Cryptography;
using Router.Crypto;
using Router.Tunnel.Noise;
using static Router.Tunnel.ProtocolConstants;

namespace Router.Tunnel.Cookies;

/// <summary>
/// The initiator's side of the DoS defence for one peer (whitepaper 5.4.7): adds mac1 (keyed by the peer's public
/// key) and, while we hold a fresh cookie from that peer, mac2 to every handshake message we send; consumes the
/// cookie replies the peer sends when it is under load.
/// </summary>
/// <remarks>Guarded by the device lock.</remarks>
internal sealed class CookieGenerator(IClock clock)
{
    private Key32 _mac1Key;
    private Key32 _cookieDecryptionKey;
    private Bytes16 _cookie;
    private long _cookieBirth;
    private bool _hasCookie;
    private Bytes16 _lastMac1;
    private bool _hasSentMac1;

    public void SetRemotePublicKey(ReadOnlySpan<byte> publicKey)
    {
        CookieChecker.DeriveKey(CookieChecker.Mac1Label8, publicKey, _mac1Key);
        CookieChecker.DeriveKey(CookieChecker.CookieLabel8, publicKey, _cookieDecryptionKey);
        _hasCookie = false;
        _hasSentMac1 = false;
    }

    /// <summary>Writes mac1 and mac2 at the end of a handshake message we built.</summary>
    public void AddMacs(Span<byte> message)
    {
        int mac1At = message.Length - 2 * MacSize;
        Span<byte> mac1 = message.Slice(mac1At, MacSize);
        Blake2s.KeyedHash(_mac1Key, message[..mac1At], mac1);
        mac1.CopyTo(_lastMac1);
        _hasSentMac1 = true;

        Span<byte> mac2 = message.Slice(mac1At + MacSize, MacSize);
        if (_hasCookie && clock.Now - _cookieBirth < CookieUseTime.Ticks)
            Blake2s.KeyedHash(_cookie, message[..(mac1At + MacSize)], mac2);
        else
            mac2.Clear();
    }

    /// <summary>Decrypts a cookie reply answering our last message; false when it does not authenticate.</summary>
    public bool ConsumeReply(ReadOnlySpan<byte> reply)
    {
        if (!_hasSentMac1)
            return false;
        Span<byte> cookie = stackalloc byte[CookieSize];
        try
        {
            if (!XChaCha20Poly1305.Decrypt(_cookieDecryptionKey, reply.Slice(Messages.CookieNonce, CookieNonceSize),
                    reply.Slice(Messages.CookieEncrypted, CookieSize + TagSize), _lastMac1, cookie))
                return false;
            cookie.CopyTo(_cookie);
            _cookieBirth = clock.Now;
            _hasCookie = true;
            _hasSentMac1 = false;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(cookie);
        }
    }

    public void Clear()
    {
        _cookie.Clear();
        _hasCookie = false;
        _hasSentMac1 = false;
    }
}
