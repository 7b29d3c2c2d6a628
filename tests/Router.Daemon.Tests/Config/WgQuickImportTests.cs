using Router.Daemon.Commands;
using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

/// <summary>The examples of wg-quick(8) and wg(8), imported and then checked as 'routerd check' would.</summary>
public sealed class WgQuickImportTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // wg-quick(8), EXAMPLES: a client tunnelling all traffic.
    private const string WgQuickClient = """
        [Interface]
        Address = 10.200.100.8/24
        DNS = 10.200.100.1
        PrivateKey = oK56DE9Ue9zK76rAc8pBl6opph+1v36lm7cXXsQKrQM=

        [Peer]
        PublicKey = GtL7fZc/bLnqZldpVofMCD6hDjrK28SsdLxevJ+qtKU=
        PresharedKey = /UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak=
        AllowedIPs = 0.0.0.0/0
        Endpoint = demo.wireguard.com:51820
        """;

    // wg-quick(8), EXAMPLES: a server with several peers, two Address lines and SaveConfig.
    private const string WgQuickServer = """
        [Interface]
        Address = 10.192.122.1/24
        Address = 10.10.0.1/16
        SaveConfig = true
        PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
        ListenPort = 51820

        [Peer]
        PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
        AllowedIPs = 10.192.122.3/32, 10.192.124.1/24

        [Peer]
        PublicKey = TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
        AllowedIPs = 10.192.122.4/32, 192.168.0.0/16

        [Peer]
        PublicKey = gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=
        AllowedIPs = 10.10.10.230/32
        """;

    // wg(8), CONFIGURATION FILE FORMAT EXAMPLE: endpoints as IPv4, bracketed IPv6 and a host name.
    private const string WgExample = """
        [Interface]
        PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
        ListenPort = 51820

        [Peer]
        PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
        Endpoint = 192.95.5.67:1234
        AllowedIPs = 10.192.122.3/32, 10.192.124.1/24

        [Peer]
        PublicKey = TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
        Endpoint = [2607:5300:60:6b0::c05f:543]:2468
        AllowedIPs = 10.192.122.4/32, 192.168.0.0/16

        [Peer]
        PublicKey = gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=
        Endpoint = test.wireguard.com:18981
        AllowedIPs = 10.10.10.230/32
        """;

    // wg-quick(8), EXAMPLES: policy routing with Table and hooks, no peers.
    private const string WgQuickTable = """
        [Interface]
        Address = 10.192.122.1/24
        PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
        ListenPort = 51820
        Table = 1234
        PostUp = ip rule add ipproto tcp dport 22 table 1234
        PreDown = ip rule delete ipproto tcp dport 22 table 1234
        """;

    public static TheoryData<string, string, int> Examples => new()
    {
        { "client", WgQuickClient, 1 },
        { "server", WgQuickServer, 3 },
        { "wg8", WgExample, 3 },
        { "table", WgQuickTable, 0 },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void ManPageExampleImportsToAConfigThatPassesCheck(string name, string conf, int peers)
    {
        string confPath = _dir.Write($"{name}0.conf", conf);
        string output = _dir.File($"{name}.json");
        var stderr = new StringWriter();
        int status = ImportCommand.Run(confPath, output, Stream.Null, stderr);
        Assert.True(status == 0, stderr.ToString());

        var check = new StringWriter();
        Assert.True(CheckCommand.Run(output, check) == 0, check.ToString());
        var result = ConfigLoader.Load(output);
        using var config = result.Config!;
        Assert.Equal(peers, config.Interfaces[0].Peers.Count);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File($"{name}0.key")));
        Assert.DoesNotContain("PrivateKey", File.ReadAllText(output));
        Assert.DoesNotContain("yAnz5TF", File.ReadAllText(output));
    }

    [Fact]
    public void ClientExampleKeepsEveryFieldAndReportsDns()
    {
        string confPath = _dir.Write("wg0.conf", WgQuickClient);
        var stderr = new StringWriter();
        Assert.Equal(0, ImportCommand.Run(confPath, _dir.File("router.json"), Stream.Null, stderr));
        Assert.Contains("wg0.conf:3: warning: DNS is a wg-quick feature routerd does not have; ignored", stderr.ToString());

        using var config = ConfigLoader.Load(_dir.File("router.json")).Config!;
        var wg0 = config.Interface("wg0")!;
        Assert.Equal("10.200.100.8/24", wg0.Addresses[0].ToString());
        var peer = wg0.Peers[0];
        Assert.Equal("peer1", peer.Name);
        Assert.Equal("GtL7fZc/bLnqZldpVofMCD6hDjrK28SsdLxevJ+qtKU=", peer.PublicKey.ToString());
        Assert.Equal(_dir.File("wg0-peer1.psk"), peer.PresharedKeyFile);
        Assert.Equal(Convert.FromBase64String("/UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak="), peer.PresharedKey!.Bytes.ToArray());
        Assert.Equal(Convert.FromBase64String("oK56DE9Ue9zK76rAc8pBl6opph+1v36lm7cXXsQKrQM="), wg0.PrivateKey.Bytes.ToArray());
        Assert.Equal("demo.wireguard.com:51820", peer.Endpoint!.ToString());
        Assert.Equal("0.0.0.0/0", peer.AllowedIps[0].ToString());
    }

    [Fact]
    public void NameCommentsNameThePeersAndFwMarkOffAndKeepaliveAreRead()
    {
        string conf = """
            [Interface]
            PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=  # inline comment
            FwMark = 0x1234
            MTU = 1380

            [Peer]
            # Name = hq
            PublicKey = TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
            AllowedIPs = 10.0.0.0/16
            AllowedIPs = 10.1.0.0/16
            PersistentKeepalive = 25
            """;
        var import = WgQuickImporter.Convert(System.Text.Encoding.UTF8.GetBytes(conf), "wg0", _dir.Path);
        Assert.Empty(import.Problems);
        string json = System.Text.Encoding.UTF8.GetString(import.Json);
        Assert.Contains("\"name\": \"hq\"", json);
        Assert.Contains("\"fwmark\": 4660", json);
        Assert.Contains("\"mtu\": 1380", json);
        Assert.Contains("\"persistentKeepalive\": 25", json);
        Assert.Contains("10.1.0.0/16", json);
        Assert.Contains("\"publicKey\": \"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\"", json);
        import.Dispose();
    }

    [Fact]
    public void ExistingKeyFileWithAnotherKeyIsNeverOverwritten()
    {
        string confPath = _dir.Write("wg0.conf", WgQuickClient);
        string keyPath = _dir.Write("wg0.key", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n");
        var stderr = new StringWriter();
        Assert.Equal(1, ImportCommand.Run(confPath, _dir.File("router.json"), Stream.Null, stderr));
        Assert.Contains("holds a different key", stderr.ToString());
        Assert.Equal("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n", File.ReadAllText(keyPath));
        Assert.False(File.Exists(_dir.File("router.json")));
    }

    [Fact]
    public void BadKeyInConfIsAnErrorWithLineAndNothingIsWritten()
    {
        string confPath = _dir.Write("wg0.conf", "[Interface]\nPrivateKey = short\n");
        var stderr = new StringWriter();
        Assert.Equal(1, ImportCommand.Run(confPath, _dir.File("router.json"), Stream.Null, stderr));
        Assert.Contains("wg0.conf:2: error: PrivateKey is not a key", stderr.ToString());
        Assert.Equal(new[] { "wg0.conf" }, Directory.GetFiles(_dir.Path).Select(p => Path.GetFileName(p)).ToArray());
    }
}
