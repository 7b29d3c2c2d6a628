using System.Security.Cryptography;
using Router.Crypto;
using ChaCha20Poly1305 = Router.Crypto.ChaCha20Poly1305;
using static Router.Tunnel.Messages;
using static Router.Tunnel.ProtocolConstants;

namespace Router.Tunnel.Noise;

/// <summary>
/// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (whitepaper 5.4.2-5.4.5, kernel noise.c): creation and
/// consumption of handshake initiations and responses, and session key derivation. Every temporary secret lives in
/// a stack buffer wiped on every exit path; the handshake's own state is cleared once the session begins.
/// </summary>
/// <remarks>Guarded by the device lock. mac1/mac2 are not handled here (see the Cookies folder).</remarks>
internal sealed class NoiseProtocol(IClock clock, ITimestampSource timestamps)
{
    private static readonly byte[] Construction = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"u8.ToArray();
    private static readonly byte[] Identifier = "WireGuard v1 zx2c4 Jason@zx2c4.com"u8.ToArray();

    /// <summary>C0 = HASH(construction).</summary>
    public static readonly Key32 InitialChainingKey = ComputeInitialChainingKey();
    /// <summary>H0 = HASH(C0 || identifier).</summary>
    public static readonly Key32 InitialHash = ComputeInitialHash();

    private Key32 _staticPrivate;
    private Key32 _staticPublic;
    /// <summary>HASH(H0 || our static public key): the initial hash of initiations sent to us.</summary>
    private Key32 _identityHash;
    private long _dhComputations;

    public bool HasIdentity { get; private set; }

    public ReadOnlySpan<byte> StaticPublic => _staticPublic;

    /// <summary>Every X25519 computation on this device, for the DoS tests (a flood without mac1 must cost none).</summary>
    public long DhComputations => Interlocked.Read(ref _dhComputations);

    public void SetPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.IsEmpty || IsAllZero(privateKey))
        {
            _staticPrivate.Clear();
            _staticPublic.Clear();
            _identityHash.Clear();
            HasIdentity = false;
            return;
        }
        privateKey[..KeySize].CopyTo(_staticPrivate);
        X25519.Clamp(_staticPrivate);
        X25519.DerivePublicKey(_staticPrivate, _staticPublic);
        _identityHash = InitialHash;
        MixHash(ref _identityHash, _staticPublic);
        HasIdentity = true;
    }

    public void CopyPrivateKey(Span<byte> destination32) => ((ReadOnlySpan<byte>)_staticPrivate).CopyTo(destination32);

    /// <summary>Prepares a peer's handshake for its (new) remote static key, or for our new private key.</summary>
    public void Precompute(Handshake handshake)
    {
        handshake.InitialHash = InitialHash;
        MixHash(ref handshake.InitialHash, handshake.RemoteStatic);
        if (!HasIdentity || !Dh(_staticPrivate, handshake.RemoteStatic, handshake.PrecomputedStaticStatic))
            handshake.PrecomputedStaticStatic.Clear();
    }

    /// <summary>Writes message 1 except mac1/mac2 (whitepaper 5.4.2). False when the peer's static DH failed.</summary>
    public bool CreateInitiation(Peer peer, IndexTable indices, Span<byte> message)
    {
        Handshake hs = peer.Handshake;
        if (!HasIdentity || hs.PrecomputedStaticStatic.IsZero)
            return false;
        Span<byte> key = stackalloc byte[KeySize];
        Span<byte> dh = stackalloc byte[KeySize];
        Span<byte> timestamp = stackalloc byte[TimestampSize];
        try
        {
            peer.ForgetHandshake(indices);
            hs.ChainingKey = InitialChainingKey;
            hs.Hash = hs.InitialHash;

            // e
            X25519.GeneratePrivateKey(hs.LocalEphemeralPrivate);
            Span<byte> ephemeral = message.Slice(InitEphemeral, KeySize);
            X25519.DerivePublicKey(hs.LocalEphemeralPrivate, ephemeral);
            MixHash(ref hs.Hash, ephemeral);
            Kdf.Derive1(hs.ChainingKey, ephemeral, hs.ChainingKey);

            // es
            if (!Dh(hs.LocalEphemeralPrivate, hs.RemoteStatic, dh))
            {
                hs.Clear();
                return false;
            }
            Kdf.Derive2(hs.ChainingKey, dh, hs.ChainingKey, key);

            // s
            Span<byte> encryptedStatic = message.Slice(InitStatic, KeySize + TagSize);
            ChaCha20Poly1305.Encrypt(key, 0UL, _staticPublic, hs.Hash, encryptedStatic);
            MixHash(ref hs.Hash, encryptedStatic);

            // ss
            Kdf.Derive2(hs.ChainingKey, hs.PrecomputedStaticStatic, hs.ChainingKey, key);

            // {t}
            timestamps.WriteTai64N(timestamp);
            Tai64N.Whiten(timestamp);
            Span<byte> encryptedTimestamp = message.Slice(InitTimestamp, TimestampSize + TagSize);
            ChaCha20Poly1305.Encrypt(key, 0UL, timestamp, hs.Hash, encryptedTimestamp);
            MixHash(ref hs.Hash, encryptedTimestamp);

            WriteHeader(message, MessageType.Initiation);
            hs.LocalIndex = indices.NewHandshakeIndex(peer);
            WriteU32(message, InitSender, hs.LocalIndex);
            hs.State = HandshakeState.CreatedInitiation;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>Authenticates message 1 and stores its state in the sender's handshake. Null (with a reason) on failure.</summary>
    public Peer? ConsumeInitiation(ReadOnlySpan<byte> message, PeerTable peers, out DropReason reason)
    {
        reason = DropReason.HandshakeFailed;
        if (!HasIdentity)
            return null;
        Key32 hash = _identityHash;
        Key32 chainingKey = InitialChainingKey;
        Span<byte> key = stackalloc byte[KeySize];
        Span<byte> dh = stackalloc byte[KeySize];
        Span<byte> remoteStatic = stackalloc byte[KeySize];
        Span<byte> timestamp = stackalloc byte[TimestampSize];
        try
        {
            ReadOnlySpan<byte> ephemeral = message.Slice(InitEphemeral, KeySize);
            MixHash(ref hash, ephemeral);
            Kdf.Derive1(chainingKey, ephemeral, chainingKey);

            if (!Dh(_staticPrivate, ephemeral, dh))
                return null;
            Kdf.Derive2(chainingKey, dh, chainingKey, key);

            ReadOnlySpan<byte> encryptedStatic = message.Slice(InitStatic, KeySize + TagSize);
            if (!ChaCha20Poly1305.Decrypt(key, 0UL, encryptedStatic, hash, remoteStatic))
                return null;
            MixHash(ref hash, encryptedStatic);

            Peer? peer = peers.Find(remoteStatic);
            if (peer is null)
            {
                reason = DropReason.NoPeer;
                return null;
            }
            Handshake hs = peer.Handshake;
            if (hs.PrecomputedStaticStatic.IsZero)
                return null;
            Kdf.Derive2(chainingKey, hs.PrecomputedStaticStatic, chainingKey, key);

            ReadOnlySpan<byte> encryptedTimestamp = message.Slice(InitTimestamp, TimestampSize + TagSize);
            if (!ChaCha20Poly1305.Decrypt(key, 0UL, encryptedTimestamp, hash, timestamp))
                return null;
            MixHash(ref hash, encryptedTimestamp);

            long now = clock.Now;
            bool replay = !Tai64N.After(timestamp, hs.LatestTimestamp);
            bool flood = hs.LastInitiationConsumed != 0 && now - hs.LastInitiationConsumed < HandshakeInitiationRate.Ticks;
            if (replay || flood)
            {
                reason = DropReason.HandshakeReplay;
                return null;
            }

            peer.ForgetHandshake(peers.Indices);
            hs.RemoteEphemeral = Key32.From(ephemeral);
            timestamp.CopyTo(hs.LatestTimestamp);
            hs.Hash = hash;
            hs.ChainingKey = chainingKey;
            hs.RemoteIndex = ReadU32(message, InitSender);
            hs.LastInitiationConsumed = now;
            hs.State = HandshakeState.ConsumedInitiation;
            return peer;
        }
        finally
        {
            hash.Clear();
            chainingKey.Clear();
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(dh);
            CryptographicOperations.ZeroMemory(timestamp);
        }
    }

    /// <summary>Writes message 2 except mac1/mac2 (whitepaper 5.4.3). Requires a consumed initiation.</summary>
    public bool CreateResponse(Peer peer, IndexTable indices, Span<byte> message)
    {
        Handshake hs = peer.Handshake;
        if (hs.State != HandshakeState.ConsumedInitiation)
            return false;
        Span<byte> key = stackalloc byte[KeySize];
        Span<byte> dh = stackalloc byte[KeySize];
        Span<byte> tau = stackalloc byte[KeySize];
        try
        {
            WriteHeader(message, MessageType.Response);
            WriteU32(message, RespReceiver, hs.RemoteIndex);

            // e
            X25519.GeneratePrivateKey(hs.LocalEphemeralPrivate);
            Span<byte> ephemeral = message.Slice(RespEphemeral, KeySize);
            X25519.DerivePublicKey(hs.LocalEphemeralPrivate, ephemeral);
            MixHash(ref hs.Hash, ephemeral);
            Kdf.Derive1(hs.ChainingKey, ephemeral, hs.ChainingKey);

            // ee, se
            if (!Dh(hs.LocalEphemeralPrivate, hs.RemoteEphemeral, dh))
                return Fail(hs);
            Kdf.Derive1(hs.ChainingKey, dh, hs.ChainingKey);
            if (!Dh(hs.LocalEphemeralPrivate, hs.RemoteStatic, dh))
                return Fail(hs);
            Kdf.Derive1(hs.ChainingKey, dh, hs.ChainingKey);

            // psk
            Kdf.Derive3(hs.ChainingKey, hs.PresharedKey, hs.ChainingKey, tau, key);
            MixHash(ref hs.Hash, tau);

            // {}
            Span<byte> encryptedEmpty = message.Slice(RespEmpty, TagSize);
            ChaCha20Poly1305.Encrypt(key, 0UL, ReadOnlySpan<byte>.Empty, hs.Hash, encryptedEmpty);
            MixHash(ref hs.Hash, encryptedEmpty);

            hs.LocalIndex = indices.NewHandshakeIndex(peer);
            WriteU32(message, RespSender, hs.LocalIndex);
            hs.State = HandshakeState.CreatedResponse;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(dh);
            CryptographicOperations.ZeroMemory(tau);
        }
    }

    /// <summary>Authenticates message 2 against the initiation it answers. Null (with a reason) on failure.</summary>
    public Peer? ConsumeResponse(ReadOnlySpan<byte> message, IndexTable indices, out DropReason reason)
    {
        reason = DropReason.UnknownIndex;
        if (!HasIdentity || !indices.TryGet(ReadU32(message, RespReceiver), out IndexTable.Entry entry) || entry.Keypair is not null)
            return null;
        reason = DropReason.HandshakeFailed;
        Peer peer = entry.Peer;
        Handshake hs = peer.Handshake;
        if (hs.State != HandshakeState.CreatedInitiation)
            return null;
        Key32 hash = hs.Hash;
        Key32 chainingKey = hs.ChainingKey;
        Span<byte> key = stackalloc byte[KeySize];
        Span<byte> dh = stackalloc byte[KeySize];
        Span<byte> tau = stackalloc byte[KeySize];
        try
        {
            ReadOnlySpan<byte> ephemeral = message.Slice(RespEphemeral, KeySize);
            MixHash(ref hash, ephemeral);
            Kdf.Derive1(chainingKey, ephemeral, chainingKey);

            if (!Dh(hs.LocalEphemeralPrivate, ephemeral, dh))
                return null;
            Kdf.Derive1(chainingKey, dh, chainingKey);
            if (!Dh(_staticPrivate, ephemeral, dh))
                return null;
            Kdf.Derive1(chainingKey, dh, chainingKey);

            Kdf.Derive3(chainingKey, hs.PresharedKey, chainingKey, tau, key);
            MixHash(ref hash, tau);

            ReadOnlySpan<byte> encryptedEmpty = message.Slice(RespEmpty, TagSize);
            if (!ChaCha20Poly1305.Decrypt(key, 0UL, encryptedEmpty, hash, Span<byte>.Empty))
                return null;
            MixHash(ref hash, encryptedEmpty);

            hs.RemoteEphemeral = Key32.From(ephemeral);
            hs.Hash = hash;
            hs.ChainingKey = chainingKey;
            hs.RemoteIndex = ReadU32(message, RespSender);
            hs.State = HandshakeState.ConsumedResponse;
            return peer;
        }
        finally
        {
            hash.Clear();
            chainingKey.Clear();
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(dh);
            CryptographicOperations.ZeroMemory(tau);
        }
    }

    /// <summary>
    /// Derives the transport keys from a finished handshake (whitepaper 5.4.5), installs the keypair (initiator:
    /// current; responder: next) under the handshake's index, and wipes the handshake. Null if not finished.
    /// </summary>
    public Keypair? BeginSession(Peer peer, IndexTable indices)
    {
        Handshake hs = peer.Handshake;
        bool initiator;
        if (hs.State == HandshakeState.ConsumedResponse)
            initiator = true;
        else if (hs.State == HandshakeState.CreatedResponse)
            initiator = false;
        else
            return null;

        var keypair = new Keypair(clock.Now, initiator, hs.LocalIndex, hs.RemoteIndex);
        if (initiator)
            Kdf.Derive2(hs.ChainingKey, ReadOnlySpan<byte>.Empty, keypair.SendKey, keypair.ReceiveKey);
        else
            Kdf.Derive2(hs.ChainingKey, ReadOnlySpan<byte>.Empty, keypair.ReceiveKey, keypair.SendKey);
        indices.Promote(hs.LocalIndex, peer, keypair);
        hs.LocalIndex = 0; // the index now belongs to the keypair
        hs.Clear();
        peer.Keypairs.Add(keypair, indices);
        return keypair;
    }

    private static bool Fail(Handshake hs)
    {
        hs.Clear();
        return false;
    }

    /// <summary>X25519 that refuses an all-zero result (low-order point), counted for the DoS tests.</summary>
    private bool Dh(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> shared)
    {
        Interlocked.Increment(ref _dhComputations);
        try
        {
            return X25519.TryAgree(privateKey, publicKey, shared);
        }
        catch (CryptographicException)
        {
            // A point libsodium refuses to import comes from the wire: a failed handshake, never an exception.
            CryptographicOperations.ZeroMemory(shared);
            return false;
        }
    }

    private static void MixHash(ref Key32 hash, ReadOnlySpan<byte> data)
    {
        var state = new Blake2sState(KeySize);
        state.Update(hash);
        state.Update(data);
        state.Finish(hash);
    }

    private static bool IsAllZero(ReadOnlySpan<byte> value)
    {
        int acc = 0;
        foreach (byte b in value)
            acc |= b;
        return acc == 0;
    }

    private static Key32 ComputeInitialChainingKey()
    {
        var ck = default(Key32);
        Blake2s.Hash(Construction, ck);
        return ck;
    }

    private static Key32 ComputeInitialHash()
    {
        Key32 hash = ComputeInitialChainingKey();
        MixHash(ref hash, Identifier);
        return hash;
    }
}
