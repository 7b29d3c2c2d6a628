using System.Diagnostics;
using System.Text;
using Router.Daemon.Cli;
using Router.Daemon.Commands;
using Router.Daemon.Config;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Config;

/// <summary>
/// 'routerd peer add|remove|export' on a real file with no daemon: the edit keeps the admin's comments and layout,
/// the result passes 'check', every refusal names the JSON path and leaves the file's bytes as they were, and the
/// export (and its QR code, decoded by zbarimg) says what the far side needs and no secret of this gateway.
/// The same verbs against a running daemon are in Firmware/FirmwarePeerTests.
/// </summary>
public sealed class PeerCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly ConfigFixture _fixture = new();

    private string ConfigPath => _fixture.Dir.File("router.json");

    // No daemon: the socket path exists nowhere, so the command writes the file itself.
    private string NoDaemon => _fixture.Dir.File("control.sock");

    // The fixture's file, with comments and a trailing comma as an admin may write them.
    private string Original => _fixture.Expand("""
        {
          // branch gateway
          'interfaces': {
            'wg0': {
              'privateKeyFile': '$KEY', 'listenPort': 51820, 'addresses': ['10.10.0.1/24'], 'mtu': 1420,
              'peers': [
                { 'name': 'hq', 'publicKey': '$A', 'presharedKeyFile': '$PSK', 'endpoint': 'hq.example.net:51820',
                  'allowedIps': ['10.0.0.0/16'], 'persistentKeepalive': 25 }, /* the head office */
                { 'name': 'lab', 'publicKey': '$B', 'allowedIps': ['10.20.0.0/24', 'fd00:20::/64'] },
              ]
            }
          },
          'leds': { 'board': 'rpi4b', 'peers': { 'hq': { 'gpio': 17 }, 'lab': { 'gpio': 27, 'activeLow': true } } }
        }
        """);

    private (int Exit, string Stdout, string Stderr) Peer(params string[] args)
    {
        var parsed = CommandLine.Parse(["peer", .. args, "--config", ConfigPath], out string? error);
        Assert.True(parsed is not null, error);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = PeerCommand.Run(parsed!, stdout, stderr, socketPath: NoDaemon);
        output.WriteLine($"$ routerd peer {string.Join(' ', args)}  -> exit {exit}\n{stdout}{stderr}");
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private RouterConfig LoadValid()
    {
        var result = ConfigLoader.Load(ConfigPath);
        Assert.False(result.HasErrors, string.Join("\n", result.Problems));
        return result.Config!;
    }

    [Fact]
    public void AddKeepsTheFileAsWrittenAndTheResultPassesCheck()
    {
        File.WriteAllText(ConfigPath, Original);
        var r = Peer("add", "branch2", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.10.0.5/32, 10.30.0.0/24",
            "--endpoint", "192.0.2.9:51820", "--keepalive", "25");
        Assert.Equal(0, r.Exit);
        Assert.Contains("peer branch2 added as interfaces.wg0.peers[2]", r.Stdout);
        Assert.Contains("routerd is not running", r.Stdout);
        string after = File.ReadAllText(ConfigPath);
        Assert.Contains("// branch gateway", after);
        Assert.Contains("/* the head office */", after);
        Assert.Equal(Original, File.ReadAllText(ConfigPath + ".prev"));
        // Only an insertion: the text before and after it is byte for byte the admin's.
        string inserted = Diff(Original, after);
        Assert.Contains("\"name\": \"branch2\"", inserted);
        Assert.Contains(ConfigFixture.PeerKeyC, inserted); // '+' as is, not \u002B
        using var config = LoadValid();
        var peer = config.Interface("wg0")!.Peers[2];
        Assert.Equal("branch2", peer.Name);
        Assert.Equal(["10.10.0.5/32", "10.30.0.0/24"], peer.AllowedIps.Select(p => p.ToString()));
        Assert.Equal("192.0.2.9:51820", peer.Endpoint!.ToString());
        Assert.Equal(25, peer.PersistentKeepalive);
    }

    [Theory]
    [InlineData("{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY' } } }")]
    [InlineData("{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'peers': [] } } }")]
    [InlineData("{\n  'interfaces': {\n    'wg0': {\n      'privateKeyFile': '$KEY',\n      'peers': [ ]\n    }\n  }\n}\n")]
    [InlineData("{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'mtu': 1420, } } }")]
    public void AddWorksWithNoPeersYet(string json)
    {
        File.WriteAllText(ConfigPath, _fixture.Expand(json));
        Assert.Equal(0, Peer("add", "first", "--public-key", ConfigFixture.PeerKeyA, "--allowed-ips", "10.1.0.0/24").Exit);
        Assert.Equal(0, Peer("add", "second", "--public-key", ConfigFixture.PeerKeyB, "--allowed-ips", "10.2.0.0/24").Exit);
        output.WriteLine(File.ReadAllText(ConfigPath));
        using var config = LoadValid();
        Assert.Equal(["first", "second"], config.Interface("wg0")!.Peers.Select(p => p.Name));
    }

    [Fact]
    public void WithSeveralInterfacesAddAsksWhichAndAddsToThatOne()
    {
        string json = _fixture.Expand("""
            { 'interfaces': {
              'wg0': { 'privateKeyFile': '$KEY', 'listenPort': 51820, 'peers': [ { 'name': 'hq', 'publicKey': '$A', 'allowedIps': ['10.0.0.0/16'] } ] },
              'wg1': { 'privateKeyFile': '$KEY1', 'listenPort': 51821, 'peers': [ { 'name': 'lab', 'publicKey': '$B', 'allowedIps': ['10.20.0.0/24'] } ] }
            } }
            """);
        File.WriteAllText(ConfigPath, json);
        byte[] before = File.ReadAllBytes(ConfigPath);
        var r = Peer("add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24");
        Assert.Equal(1, r.Exit);
        Assert.Contains("interfaces: error: the file has 2 interfaces (wg0, wg1); say which with --interface", r.Stderr);
        Assert.Equal(before, File.ReadAllBytes(ConfigPath));
        // The same prefix on another interface is no overlap: each interface routes its own.
        Assert.Equal(0, Peer("add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.0.0.0/16", "-i", "wg1").Exit);
        using var config = LoadValid();
        Assert.Equal(["lab", "x"], config.Interface("wg1")!.Peers.Select(p => p.Name));
        Assert.Equal(["hq"], config.Interface("wg0")!.Peers.Select(p => p.Name));
        Assert.Equal(0, Peer("remove", "hq").Exit);
        using var removed = LoadValid();
        Assert.Empty(removed.Interface("wg0")!.Peers);
    }

    [Theory]
    [InlineData("hq")]   // the first of two: its comma after it goes with it
    [InlineData("lab")]  // the last: the comma before it goes
    public void RemoveTakesThePeerAndItsLedAndKeepsTheRest(string name)
    {
        File.WriteAllText(ConfigPath, Original);
        var r = Peer("remove", name);
        Assert.Equal(0, r.Exit);
        Assert.Contains($"peer {name} removed", r.Stdout);
        Assert.Contains($"and its LED leds.peers.{name}", r.Stdout);
        string after = File.ReadAllText(ConfigPath);
        Assert.Contains("// branch gateway", after);
        using var config = LoadValid();
        string other = name == "hq" ? "lab" : "hq";
        Assert.Equal([other], config.Interface("wg0")!.Peers.Select(p => p.Name));
        Assert.Equal([other], config.Leds!.Peers.Keys);
        // And the only peer left: the array becomes empty, the file still valid.
        Assert.Equal(0, Peer("remove", other).Exit);
        using var empty = LoadValid();
        Assert.Empty(empty.Interface("wg0")!.Peers);
    }

    public static TheoryData<string[], string> Refusals => new()
    {
        { ["add", "x", "--public-key", "not-a-key", "--allowed-ips", "10.9.0.0/24"], "interfaces.wg0.peers[2].publicKey: error: is not valid base64" },
        { ["add", "x", "--public-key", "AAAA", "--allowed-ips", "10.9.0.0/24"], "interfaces.wg0.peers[2].publicKey: error: decodes to 3 bytes" },
        { ["add", "hq", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24"], "interfaces.wg0.peers[2].name: error: duplicate peer name 'hq', already used at interfaces.wg0.peers[0]" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyB, "--allowed-ips", "10.9.0.0/24"], "interfaces.wg0.peers[2].publicKey: error: duplicate public key, already used by interfaces.wg0.peers[1]" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.20.0.0/24"], "interfaces.wg0.peers[2].allowedIps[0]: error: 10.20.0.0/24 is already routed to interfaces.wg0.peers[1]" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24,10.0.5.0/24"], "interfaces.wg0.peers[2].allowedIps[1]: error: 10.0.5.0/24 overlaps 10.0.0.0/16, routed to peer 'hq' (interfaces.wg0.peers[0].allowedIps[0])" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.0.0.0/8"], "interfaces.wg0.peers[2].allowedIps[0]: error: 10.0.0.0/8 overlaps 10.0.0.0/16" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0/24"], "interfaces.wg0.peers[2].allowedIps[0]: error: '10.9.0/24' is not a CIDR prefix" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24", "--endpoint", "nowhere"], "interfaces.wg0.peers[2].endpoint: error: 'nowhere'" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24", "--interface", "wg7"], "interfaces.wg7: error: no such interface; the file has wg0" },
        { ["add", "bad name", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24"], "interfaces.wg0.peers[2].name: error: 'bad name' is not a valid peer name" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24", "--preshared-key-file", "/nonexistent/x.psk"], "interfaces.wg0.peers[2].presharedKeyFile: error: key file '/nonexistent/x.psk' does not exist" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24", "--preshared-key-file", "no-such.psk"], $"interfaces.wg0.peers[2].presharedKeyFile: error: key file '{Path.GetFullPath("no-such.psk")}' does not exist" },
        { ["remove", "nobody"], "interfaces.*.peers: error: no peer is named 'nobody'; the file has: hq, lab" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC], "needs --public-key KEY and --allowed-ips" },
        { ["add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24", "--keepalive", "often"], "--keepalive takes seconds from 0 to 65535" },
        { ["remove", "hq", "--public-key", ConfigFixture.PeerKeyC], "--public-key does not apply to 'peer remove'" },
        { ["ad", "x"], "unknown peer command 'ad': did you mean 'add'?" },
        { ["export", "nobody"], "no peer is named 'nobody'" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void BadInputIsRefusedWithItsPathAndTheFileIsUnchanged(string[] args, string expected)
    {
        File.WriteAllText(ConfigPath, Original);
        byte[] before = File.ReadAllBytes(ConfigPath);
        var r = Peer(args);
        Assert.NotEqual(0, r.Exit);
        Assert.Contains(expected, r.Stderr);
        Assert.Equal(before, File.ReadAllBytes(ConfigPath));
        Assert.False(File.Exists(ConfigPath + ".prev"), "nothing may be written, not even the .prev file");
        Assert.Empty(Directory.GetFiles(_fixture.Dir.Path, ".router.json*")); // no temporary file left
    }

    [Fact]
    public void APresharedKeyFileIsWrittenAsAnAbsolutePath()
    {
        File.WriteAllText(ConfigPath, Original);
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, _fixture.PskPath);
        Assert.Equal(0, Peer("add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24", "--preshared-key-file", relative).Exit);
        using var config = LoadValid();
        Assert.Equal(_fixture.PskPath, config.Interface("wg0")!.Peers[2].PresharedKeyFile);
        Assert.NotNull(config.Interface("wg0")!.Peers[2].PresharedKey);
    }

    [Fact]
    public void AFileThatIsAlreadyInvalidIsNotEdited()
    {
        File.WriteAllText(ConfigPath, Original.Replace("51820,", "70000,"));
        byte[] before = File.ReadAllBytes(ConfigPath);
        var r = Peer("add", "x", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.9.0.0/24");
        Assert.Equal(1, r.Exit);
        Assert.Contains("interfaces.wg0.listenPort: error: 70000 is out of range", r.Stderr);
        Assert.Contains("does not pass 'routerd check' as it is; fix it first", r.Stderr);
        Assert.Equal(before, File.ReadAllBytes(ConfigPath));
    }

    [Fact]
    public void ExportGivesTheFarSideWhatItNeedsAndNoSecretOfOurs()
    {
        File.WriteAllText(ConfigPath, Original);
        Assert.Equal(0, Peer("add", "phone", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.10.0.7/32").Exit);
        var r = Peer("export", "phone", "--endpoint", "gw.example.net:51820", "--keepalive", "25");
        Assert.Equal(0, r.Exit);
        string text = r.Stdout;
        Assert.Contains("[Interface]\nPrivateKey = " + PeerExport.PrivateKeyPlaceholder + "\nAddress = 10.10.0.7/32\n", text);
        Assert.Contains("[Peer]\nPublicKey = " + _fixture.OwnPublicKey + "\n", text);
        Assert.Contains("Endpoint = gw.example.net:51820\n", text);
        Assert.Contains("AllowedIPs = 10.10.0.0/24\n", text);
        Assert.Contains("PersistentKeepalive = 25\n", text);
        foreach (var secretFile in new[] { _fixture.KeyPath, _fixture.PskPath })
            Assert.DoesNotContain(File.ReadAllText(secretFile).Trim(), text);

        // A pre-shared key stays on the gateway: the file names where to copy it from. LAN prefixes by option.
        var hq = Peer("export", "hq", "--allowed-ips", "10.10.0.0/24,192.168.1.0/24");
        Assert.Equal(0, hq.Exit);
        Assert.Contains($"# PresharedKey = (copy the key from {_fixture.PskPath} on the gateway)", hq.Stdout);
        Assert.Contains("# Endpoint = GATEWAY-ADDRESS:51820", hq.Stdout);
        Assert.Contains("# Address = (none of this peer's allowed IPs is a single address", hq.Stdout);
        Assert.Contains("AllowedIPs = 10.10.0.0/24, 192.168.1.0/24\n", hq.Stdout);
    }

    [Fact]
    public void ExportWithTheFarSidesOwnKeyFillsItInAndRefusesSomeoneElsesKey()
    {
        File.WriteAllText(ConfigPath, Original);
        string farKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        string farKeyFile = _fixture.Dir.Write("phone.key", farKey + "\n");
        Span<byte> pub = stackalloc byte[32];
        Router.Crypto.X25519.DerivePublicKey(Convert.FromBase64String(farKey), pub);
        Assert.Equal(0, Peer("add", "phone", "--public-key", Convert.ToBase64String(pub), "--allowed-ips", "10.10.0.7/32").Exit);
        var r = Peer("export", "phone", "--private-key-file", farKeyFile, "--endpoint", "192.0.2.1:51820");
        Assert.Equal(0, r.Exit);
        Assert.Contains($"PrivateKey = {farKey}\n", r.Stdout);
        var wrong = Peer("export", "hq", "--private-key-file", farKeyFile);
        Assert.Equal(1, wrong.Exit);
        Assert.Contains("is not hq's", wrong.Stderr);
    }

    [Fact]
    public void TheQrCodeDecodesToTheExportedFile()
    {
        File.WriteAllText(ConfigPath, Original);
        Assert.Equal(0, Peer("add", "phone", "--public-key", ConfigFixture.PeerKeyC, "--allowed-ips", "10.10.0.7/32,fd00:10::7/128").Exit);
        string[] args = ["export", "phone", "--endpoint", "gw.example.net:51820", "--keepalive", "25", "--allowed-ips", "10.10.0.0/24,192.168.1.0/24,fd00:10::/64"];
        string text = Peer(args).Stdout;
        var qr = Peer([.. args, "--qr"]);
        Assert.Equal(0, qr.Exit);
        Assert.Contains("# phone: the far end of wg0", qr.Stderr); // the comments beside the code, not in it
        string expected = string.Join('\n', text.Split('\n').Where(l => !l.StartsWith('#')));

        string pbm = _fixture.Dir.File("qr.pbm");
        int modules = WritePbm(qr.Stdout, pbm, scale: 4);
        var decoded = Zbarimg(pbm);
        output.WriteLine($"{text.Length} bytes of wg-quick text -> {modules} x {modules} modules (4 of them quiet zone each side), {qr.Stdout.Split('\n').Length - 1} terminal lines");
        Assert.Equal(expected, decoded);
    }

    [Fact]
    public void AFileTooLongForAQrCodeIsSaidSoNotThrown()
    {
        File.WriteAllText(ConfigPath, Original);
        string many = string.Join(',', Enumerable.Range(0, 200).Select(i => $"172.16.{i}.0/24"));
        var r = Peer("export", "lab", "--allowed-ips", many, "--qr");
        Assert.Equal(1, r.Exit);
        Assert.Contains("more than a QR code holds; copy the file instead", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    /// <summary>Reads the terminal drawing back into modules (half blocks: light is drawn, dark is background) and writes a PBM.</summary>
    internal static int WritePbm(string terminal, string path, int scale)
    {
        var rows = new List<bool[]>(); // true = dark
        foreach (string raw in terminal.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string line = System.Text.RegularExpressions.Regex.Replace(raw, "\u001b\\[[0-9;]*m", "");
            var upper = new bool[line.Length];
            var lower = new bool[line.Length];
            for (int x = 0; x < line.Length; x++)
            {
                upper[x] = line[x] is not ('\u2588' or '\u2580');
                lower[x] = line[x] is not ('\u2588' or '\u2584');
            }
            rows.Add(upper);
            rows.Add(lower);
        }
        int width = rows[0].Length;
        Assert.All(rows, r => Assert.Equal(width, r.Length));
        var sb = new StringBuilder($"P1\n{width * scale} {rows.Count * scale}\n");
        foreach (var row in rows)
        {
            var line = new StringBuilder();
            foreach (bool dark in row)
                for (int s = 0; s < scale; s++)
                    line.Append(dark ? "1 " : "0 ");
            for (int s = 0; s < scale; s++)
                sb.Append(line).Append('\n');
        }
        File.WriteAllText(path, sb.ToString());
        return width;
    }

    /// <summary>Debian's zbarimg (zbar-tools, installed by scripts/install-deps.sh test): the decoded text, as is.</summary>
    internal static string Zbarimg(string image)
    {
        var psi = new ProcessStartInfo("zbarimg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--raw", "-q", "-Sbinary", image })
            psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("zbarimg is missing: run scripts/install-deps.sh test (Debian package zbar-tools)", e);
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(30_000));
            Assert.True(p.ExitCode == 0, $"zbarimg found no code in {image} (exit {p.ExitCode})");
            // -Sbinary: the data exactly as encoded (without it, --raw adds a newline of its own).
            return stdout.Result;
        }
    }

    /// <summary>What <paramref name="after"/> has that <paramref name="before"/> lacks, if it is a single insertion.</summary>
    private static string Diff(string before, string after)
    {
        int start = 0;
        while (start < before.Length && before[start] == after[start])
            start++;
        int end = 0;
        while (end < before.Length - start && before[^(end + 1)] == after[^(end + 1)])
            end++;
        Assert.Equal(before.Length, start + end); // nothing of the original was changed, only added to
        return after[start..^end];
    }

    public void Dispose() => _fixture.Dispose();
}
