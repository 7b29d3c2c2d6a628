using System.Buffers.Binary;
using System.Security.Cryptography;
using Router.Crypto;
using Router.Tunnel.IO;
using Router.Tunnel.Noise;
using static Router.Tunnel.ProtocolConstants;

namespace Router.Tunnel.Cookies;

/// <summary>What the macs of a received handshake message prove (kernel enum cookie_mac_state).</summary>
internal enum MacState
{
    InvalidMac,
    ValidMacButNoCookie,
    ValidMacWithCookie,
}

/// <summary>
/// The responder's side of the DoS defence (whitepaper 5.3, 5.4.7; kernel cookie.c): checks mac1 (keyed by our
/// public key) on every handshake message, checks mac2 (keyed by the cookie we would give the sender) under load,
/// and writes cookie replies. The cookie secret is random and rotated every COOKIE_REFRESH_TIME.
/// </summary>
/// <remarks>Guarded by the device lock.</remarks>
internal sealed class CookieChecker(IClock clock)
{
    private static readonly byte[] Mac1Label = "mac1----"u8.ToArray();
    private static readonly byte[] CookieLabel = "cookie--"u8.ToArray();

    private Key32 _mac1Key;
    private Key32 _cookieEncryptionKey;
    private Key32 _secret;
    private long _secretBirth;
    private bool _secretSet;

    /// <summary>Rekeys both MAC keys from our static public key (called when the private key changes).</summary>
    public void SetPublicKey(ReadOnlySpan<byte> publicKey)
    {
        DeriveKey(Mac1Label, publicKey, _mac1Key);
        DeriveKey(CookieLabel, publicKey, _cookieEncryptionKey);
    }

    /// <summary>HASH(label || public key): the mac1 key and the cookie encryption key (both sides use this).</summary>
    public static void DeriveKey(ReadOnlySpan<byte> label, ReadOnlySpan<byte> publicKey, Span<byte> key32)
    {
        var state = new Blake2sState(KeySize);
        state.Update(label);
        state.Update(publicKey);
        state.Finish(key32);
    }

    public static ReadOnlySpan<byte> Mac1Label8 => Mac1Label;
    public static ReadOnlySpan<byte> CookieLabel8 => CookieLabel;

    /// <summary>
    /// Validates mac1 always, and mac2 only when <paramref name="checkCookie"/> (under load). A message is a
    /// handshake initiation or response at its exact size.
    /// </summary>
    public MacState Validate(ReadOnlySpan<byte> message, in Endpoint source, bool checkCookie)
    {
        if (!CheckMac1(message))
            return MacState.InvalidMac;
        if (!checkCookie)
            return MacState.ValidMacButNoCookie;
        return CheckMac2(message, source) ? MacState.ValidMacWithCookie : MacState.ValidMacButNoCookie;
    }

    /// <summary>mac1 of a handshake message at its exact size: proof that the sender knows our public key.</summary>
    public bool CheckMac1(ReadOnlySpan<byte> message)
    {
        int mac1At = message.Length - 2 * MacSize;
        Span<byte> computed = stackalloc byte[MacSize];
        Blake2s.KeyedHash(_mac1Key, message[..mac1At], computed);
        return CryptographicOperations.FixedTimeEquals(computed, message.Slice(mac1At, MacSize));
    }

    /// <summary>mac2 keyed by the cookie we give <paramref name="source"/> (address and port): proof of a round trip.</summary>
    public bool CheckMac2(ReadOnlySpan<byte> message, in Endpoint source)
    {
        int mac2At = message.Length - MacSize;
        Span<byte> computed = stackalloc byte[MacSize];
        Span<byte> cookie = stackalloc byte[CookieSize];
        try
        {
            MakeCookie(source, cookie);
            Blake2s.KeyedHash(cookie, message[..mac2At], computed);
            return CryptographicOperations.FixedTimeEquals(computed, message.Slice(mac2At, MacSize));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(cookie);
        }
    }

    /// <summary>Writes the 64-byte cookie reply to <paramref name="message"/> (whose sender index it names).</summary>
    public void CreateReply(ReadOnlySpan<byte> message, uint senderIndex, in Endpoint source, Span<byte> reply)
    {
        Span<byte> cookie = stackalloc byte[CookieSize];
        try
        {
            Messages.WriteHeader(reply, MessageType.CookieReply);
            Messages.WriteU32(reply, Messages.CookieReceiver, senderIndex);
            Span<byte> nonce = reply.Slice(Messages.CookieNonce, CookieNonceSize);
            RandomNumberGenerator.Fill(nonce);
            MakeCookie(source, cookie);
            ReadOnlySpan<byte> mac1 = message.Slice(message.Length - 2 * MacSize, MacSize);
            XChaCha20Poly1305.Encrypt(_cookieEncryptionKey, nonce, cookie, mac1, reply.Slice(Messages.CookieEncrypted, CookieSize + TagSize));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(cookie);
        }
    }

    /// <summary>Cookie = MAC(secret, source address bytes || source port), secret rotated every 120 s.</summary>
    private void MakeCookie(in Endpoint source, Span<byte> cookie16)
    {
        long now = clock.Now;
        if (!_secretSet || now - _secretBirth >= CookieRefreshTime.Ticks)
        {
            RandomNumberGenerator.Fill(_secret);
            _secretBirth = now;
            _secretSet = true;
        }
        Span<byte> input = stackalloc byte[18];
        int length;
        if (source.IsIPv4)
        {
            source.WriteIPv4(input);
            length = 4;
        }
        else
        {
            source.WriteAddress(input);
            length = 16;
        }
        BinaryPrimitives.WriteUInt16BigEndian(input[length..], source.Port);
        Blake2s.KeyedHash(_secret, input[..(length + 2)], cookie16);
    }

    public void Clear()
    {
        _mac1Key.Clear();
        _cookieEncryptionKey.Clear();
        _secret.Clear();
    }
}
