using Router.Crypto;
using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

/// <summary>
/// Key files and a valid two-peer configuration in a temporary directory, to which each test applies one mistake.
/// Peer keys are the public keys from the wg(8) man page.
/// </summary>
internal sealed class ConfigFixture : IDisposable
{
    public const string PeerKeyA = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    public const string PeerKeyB = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
    public const string PeerKeyC = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";

    public readonly TempDirectory Dir = new();

    public ConfigFixture()
    {
        Span<byte> key = stackalloc byte[32];
        Span<byte> pub = stackalloc byte[32];
        X25519.GeneratePrivateKey(key);
        X25519.DerivePublicKey(key, pub);
        OwnPublicKey = Convert.ToBase64String(pub);
        KeyPath = Dir.Write("wg0.key", Convert.ToBase64String(key) + "\n");
        X25519.GeneratePrivateKey(key);
        Key1Path = Dir.Write("wg1.key", Convert.ToBase64String(key) + "\n");
        PskPath = Dir.Write("hq.psk", Convert.ToBase64String(key) + "\n");
        LooseKeyPath = Dir.Write("loose.key", Convert.ToBase64String(key) + "\n", (UnixFileMode)0b110_100_100);
    }

    public string KeyPath { get; }
    public string Key1Path { get; }
    public string PskPath { get; }
    public string LooseKeyPath { get; }
    public string OwnPublicKey { get; }

    /// <summary>Replaces $KEY, $KEY1, $PSK, $LOOSE, $OWN, $A, $B, $C and turns single quotes into double quotes.</summary>
    public string Expand(string json) => json
        .Replace("$KEY1", Key1Path).Replace("$KEY", KeyPath).Replace("$PSK", PskPath).Replace("$LOOSE", LooseKeyPath)
        .Replace("$OWN", OwnPublicKey).Replace("$A", PeerKeyA).Replace("$B", PeerKeyB).Replace("$C", PeerKeyC)
        .Replace('\'', '"');

    public const string Valid = """
        { 'interfaces': { 'wg0': {
            'privateKeyFile': '$KEY', 'listenPort': 51820, 'addresses': ['10.10.0.1/24'], 'mtu': 1420,
            'peers': [
              { 'name': 'hq', 'publicKey': '$A', 'presharedKeyFile': '$PSK', 'endpoint': 'hq.example.net:51820',
                'allowedIps': ['10.0.0.0/16'], 'persistentKeepalive': 25 },
              { 'name': 'lab', 'publicKey': '$B', 'endpoint': '[2001:db8::7]:51820', 'allowedIps': ['10.20.0.0/24', 'fd00:20::/64'] }
            ] } },
          'leds': { 'board': 'rpi4b', 'status': 'act', 'peers': { 'hq': { 'gpio': 17 }, 'lab': { 'gpio': 27, 'activeLow': true } } },
          'forwarding': { 'enabled': true, 'masquerade': ['eth0'], 'mssClamp': true },
          'metrics': { 'enabled': false, 'listen': '127.0.0.1:9586' }
        }
        """;

    public ConfigLoadResult Load(string json, IKeyFileSource? keyFiles = null)
        => ConfigLoader.Parse(System.Text.Encoding.UTF8.GetBytes(Expand(json)), keyFiles);

    public void Dispose() => Dir.Dispose();
}
