using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

/// <summary>
/// Each bad configuration must be refused (no RouterConfig comes back, so nothing can be applied) with a problem
/// that names the JSON path and says what is wrong and what was expected.
/// </summary>
public sealed class ConfigValidationTests : IDisposable
{
    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    private const string Peer = "{ 'name': 'hq', 'publicKey': '$A', 'allowedIps': ['10.0.0.0/16'] }";

    private static string WithLeds(string leds) => $$"""{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'peers': [ {{Peer}} ] } }, 'leds': {{leds}} }""";

    private static string Wg0(string fields, string peers = Peer) => $$"""{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', {{fields}} 'peers': [ {{peers}} ] } } }""";

    public static TheoryData<string, string, string, string> InvalidConfigs => new()
    {
        { "port out of range", Wg0("'listenPort': 70000,"), "interfaces.wg0.listenPort", "70000 is out of range; expected an integer from 0 to 65535" },
        { "port not a number", Wg0("'listenPort': 'fifty',"), "interfaces.wg0.listenPort", "expected an integer from 0 to 65535, found 'fifty'" },
        { "bad base64 key", Wg0("", "{ 'name': 'hq', 'publicKey': 'not*base64*at*all*not*base64*at*all*1234567=' }"), "interfaces.wg0.peers[0].publicKey", "is not valid base64; expected a 32-byte key in base64" },
        { "wrong key length", Wg0("", "{ 'name': 'hq', 'publicKey': 'AAAA' }"), "interfaces.wg0.peers[0].publicKey", "decodes to 3 bytes; expected a 32-byte key" },
        { "bad CIDR", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'allowedIps': ['10.0.0.0/33'] }"), "interfaces.wg0.peers[0].allowedIps[0]", "'10.0.0.0/33' is not a CIDR prefix; expected e.g. 10.1.0.0/16" },
        { "inet_aton shorthand", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'allowedIps': ['10.1/16'] }"), "interfaces.wg0.peers[0].allowedIps[0]", "'10.1/16' is not a CIDR prefix" },
        { "same prefix on two peers", Wg0("", Peer + ", { 'name': 'lab', 'publicKey': '$B', 'allowedIps': ['10.0.5.0/24', '10.0.0.0/16'] }"), "interfaces.wg0.peers[1].allowedIps[1]", "10.0.0.0/16 is already routed to interfaces.wg0.peers[0]" },
        { "unknown field, wrong case", Wg0("'listenport': 51820,"), "interfaces.wg0.listenport", "unknown field 'listenport': names are case-sensitive, did you mean 'listenPort'?" },
        { "unknown field", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY' } }, 'colour': 'blue' }""", "colour", "unknown field 'colour'; expected one of: interfaces, leds, forwarding, metrics, state" },
        { "unknown field in array element", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'keepalive': 25 }"), "interfaces.wg0.peers[0].keepalive", "unknown field 'keepalive'; expected one of: name, publicKey" },
        { "inline private key", Wg0("'privateKey': 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=',"), "interfaces.wg0.privateKey", "secrets are not allowed in the configuration: write the key to a file with mode 0600" },
        { "inline preshared key", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'presharedKey': 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=' }"), "interfaces.wg0.peers[0].presharedKey", "name it in \"presharedKeyFile\"" },
        { "missing key file", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '/nonexistent/wg0.key' } } }""", "interfaces.wg0.privateKeyFile", "key file '/nonexistent/wg0.key' does not exist" },
        { "relative key file", """{ 'interfaces': { 'wg0': { 'privateKeyFile': 'wg0.key' } } }""", "interfaces.wg0.privateKeyFile", "'wg0.key' is a relative path; expected an absolute path" },
        { "no private key file", """{ 'interfaces': { 'wg0': { 'listenPort': 51820 } } }""", "interfaces.wg0.privateKeyFile", "required: the file holding this interface's private key" },
        { "missing psk file", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'presharedKeyFile': '/nonexistent/hq.psk' }"), "interfaces.wg0.peers[0].presharedKeyFile", "does not exist" },
        { "duplicate peer name", Wg0("", Peer + ", { 'name': 'hq', 'publicKey': '$B' }"), "interfaces.wg0.peers[1].name", "duplicate peer name 'hq', already used at interfaces.wg0.peers[0]" },
        { "duplicate public key", Wg0("", Peer + ", { 'name': 'lab', 'publicKey': '$A' }"), "interfaces.wg0.peers[1].publicKey", "duplicate public key, already used by interfaces.wg0.peers[0]" },
        { "own public key", Wg0("", "{ 'name': 'me', 'publicKey': '$OWN' }"), "interfaces.wg0.peers[0].publicKey", "is this interface's own public key" },
        // Found by the config fuzzer (tests/Router.Fuzz): a JSON null in a list of strings threw NullReferenceException.
        { "null allowed IP", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'allowedIps': ['10.0.0.0/16', null] }"), "interfaces.wg0.peers[0].allowedIps[1]", "expected a non-empty string" },
        { "null address", Wg0("'addresses': [null],"), "interfaces.wg0.addresses[0]", "expected a non-empty string" },
        { "null masquerade interface", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY' } }, 'forwarding': { 'enabled': true, 'masquerade': [null] } }""", "forwarding.masquerade[0]", "expected a non-empty string" },
        { "endpoint port 0", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'endpoint': 'hq.example.net:0' }"), "interfaces.wg0.peers[0].endpoint", "port '0' is not a number from 1 to 65535" },
        { "IPv6 endpoint without brackets", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'endpoint': '2001:db8::1:51820' }"), "interfaces.wg0.peers[0].endpoint", "an IPv6 endpoint needs brackets" },
        { "endpoint without port", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'endpoint': 'hq.example.net' }"), "interfaces.wg0.peers[0].endpoint", "expected host:port" },
        { "bad address", Wg0("'addresses': ['10.10.0.1/40'],"), "interfaces.wg0.addresses[0]", "'10.10.0.1/40' is not an address with prefix length" },
        { "mtu too small", Wg0("'mtu': 100,"), "interfaces.wg0.mtu", "100 is out of range; expected an integer from 576 to 65535" },
        { "keepalive not a number", Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'persistentKeepalive': 'often' }"), "interfaces.wg0.peers[0].persistentKeepalive", "expected an integer from 0 to 65535, found 'often'" },
        { "fwmark negative", Wg0("'fwmark': -1,"), "interfaces.wg0.fwmark", "-1 is out of range; expected an integer from 0 to 4294967295" },
        { "peers is an object", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'peers': { 'name': 'hq' } } } }""", "interfaces.wg0.peers", "expected an array [ ... ], found an object" },
        { "bad interface name", """{ 'interfaces': { 'wg0/1': { 'privateKeyFile': '$KEY' } } }""", "interfaces.wg0/1", "is not a valid interface name" },
        { "no interfaces", """{ 'forwarding': { 'enabled': true } }""", "interfaces", "at least one interface is required" },
        { "duplicate listen port", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'listenPort': 51820 }, 'wg1': { 'privateKeyFile': '$KEY1', 'listenPort': 51820 } } }""", "interfaces.wg1.listenPort", "port 51820 is already used by interfaces.wg0" },
        { "LED for unknown peer", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY' } }, 'leds': { 'peers': { 'hq': { 'gpio': 17 } } } }""", "leds.peers.hq", "no peer is named 'hq'" },
        { "GPIO out of range", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'peers': [ { 'name': 'hq', 'publicKey': '$A' } ] } }, 'leds': { 'peers': { 'hq': { 'gpio': 99 } } } }""", "leds.peers.hq.gpio", "99 is out of range; expected an integer from 0 to 53" },
        { "two LEDs on one pin", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'peers': [ { 'name': 'hq', 'publicKey': '$A' }, { 'name': 'lab', 'publicKey': '$B' } ] } }, 'leds': { 'peers': { 'hq': { 'gpio': 17 }, 'lab': { 'gpio': 17 } } } }""", "leds.peers.lab.gpio", "GPIO 17 is already used by leds.peers.hq" },
        { "unknown board", WithLeds("{ 'board': 'rpi9' }"), "leds.board", "unknown board 'rpi9'; expected one of: rpi3b, rpi3bplus, rpi4b, rpi400, rpi5, cm4, zero2w" },
        { "board not a profile name", WithLeds("{ 'board': 'Raspberry Pi 4' }"), "leds.board", "'Raspberry Pi 4' is not a board profile name; expected one of: rpi3b, rpi3bplus, rpi4b" },
        { "unknown status style", WithLeds("{ 'board': 'rpi4b', 'status': 'blink' }"), "leds.status", "'blink' is not an LED; expected act, pwr, none, gpio (the board's suggested pin), gpioN, gpioN:active-low or led:NAME" },
        { "status GPIO off the header", WithLeds("{ 'board': 'rpi5', 'status': 'gpio30' }"), "leds.status", "GPIO 30 is not on the rpi5 header; expected 2..27 (BCM numbering" },
        { "peer GPIO off the header", WithLeds("{ 'board': 'rpi4b', 'peers': { 'hq': { 'gpio': 40 } } }"), "leds.peers.hq.gpio", "GPIO 40 is not on the rpi4b header; expected 2..27" },
        { "HAT EEPROM pin", WithLeds("{ 'board': 'rpi4b', 'peers': { 'hq': { 'gpio': 0 } } }"), "leds.peers.hq.gpio", "GPIO 0 is not on the rpi4b header; expected 2..27" },
        { "status and peer on one pin", WithLeds("{ 'board': 'rpi4b', 'status': 'gpio17', 'peers': { 'hq': { 'gpio': 17 } } }"), "leds.peers.hq.gpio", "GPIO 17 is already used by leds.status; expected one LED per pin" },
        { "suggested status pin taken", WithLeds("{ 'board': 'cm4', 'status': 'gpio', 'peers': { 'hq': { 'gpio': 17 } } }"), "leds.peers.hq.gpio", "GPIO 17 is already used by leds.status" },
        { "status LED the board lacks", WithLeds("{ 'board': 'rpi3b', 'status': 'pwr' }"), "leds.status", "board rpi3b has no PWR LED; expected act, a GPIO or led:NAME" },
        { "peer LED the board lacks", WithLeds("{ 'board': 'zero2w', 'status': 'none', 'peers': { 'hq': { 'led': 'pwr' } } }"), "leds.peers.hq.led", "board zero2w has no PWR LED" },
        { "one on-board LED twice", WithLeds("{ 'board': 'rpi4b', 'peers': { 'hq': { 'led': 'act' } } }"), "leds.peers.hq.led", "LED ACT is already used by leds.status; expected one thing per LED" },
        { "gpio and led on one peer", WithLeds("{ 'board': 'rpi4b', 'peers': { 'hq': { 'gpio': 22, 'led': 'pwr' } } }"), "leds.peers.hq", "has both \"gpio\" and \"led\"; expected one of them" },
        { "peer led not an LED", WithLeds("{ 'board': 'rpi4b', 'peers': { 'hq': { 'led': 'gpio22' } } }"), "leds.peers.hq.led", "'gpio22' is not an on-board LED; expected \"act\", \"pwr\" or \"led:NAME\"" },
        { "activeLow on an on-board LED", WithLeds("{ 'board': 'rpi4b', 'status': 'none', 'peers': { 'hq': { 'led': 'act', 'activeLow': true } } }"), "leds.peers.hq.activeLow", "applies to a GPIO LED only" },
        { "bad masquerade interface", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY' } }, 'forwarding': { 'enabled': true, 'masquerade': ['eth 0'] } }""", "forwarding.masquerade[0]", "'eth 0' is not a valid interface name" },
        { "metrics listen without port", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY' } }, 'metrics': { 'enabled': true, 'listen': 'localhost' } }""", "metrics.listen", "expected IP:port (e.g. 127.0.0.1:9586, [::1]:9586) or unix:/path" },
        { "metrics enabled not a boolean", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY' } }, 'metrics': { 'enabled': 'yes' } }""", "metrics.enabled", "expected true or false, found 'yes'" },
        { "not JSON", """{ 'interfaces': { 'wg0': { 'privateKeyFile' '$KEY' } } }""", "", "not valid JSON" },
        { "empty file", "  \n", "", "the configuration is empty" },
        { "duplicate object", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY' } }, 'interfaces': { } }""", "interfaces", "'interfaces' appears twice in this object" },
        { "duplicate peers block", Wg0("", Peer).Replace("'peers'", "'peers': [], 'Peers'"), "interfaces.wg0.Peers", "'Peers' appears twice in this object (also as 'peers')" },
        { "duplicate value", Wg0("'listenPort': 1, 'listenPort': 2,"), "interfaces.wg0.listenPort", "'listenPort' appears twice" },
        { "key file is a directory", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '/tmp' } } }""", "interfaces.wg0.privateKeyFile", "key file /tmp: not a regular file (directory)" },
        { "object expected, value found", """{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY' } }, 'leds': 'on' }""", "leds", "expected an object { ... }, found a value" },
        { "array expected, value found", Wg0("'addresses': '10.0.0.1/24',"), "interfaces.wg0.addresses", "expected an array [ ... ], found a single value" },
    };

    [Theory]
    [MemberData(nameof(InvalidConfigs))]
    public void InvalidConfigIsRefusedWithPathAndMessage(string because, string json, string path, string message)
    {
        var result = _f.Load(json);
        Assert.True(result.Config is null, $"{because}: a configuration came back");
        Assert.True(result.Problems.Any(p => p.IsError && p.Path == path && p.Message.Contains(message, StringComparison.Ordinal)),
            $"{because}: expected an error at '{path}' containing \"{message}\", got:\n{string.Join("\n", result.Problems)}");
    }

    [Fact]
    public void ValidConfigBuildsEveryField()
    {
        var result = _f.Load(ConfigFixture.Valid);
        Assert.False(result.HasErrors, string.Join("\n", result.Problems));
        using var config = result.Config!;
        var wg0 = Assert.Single(config.Interfaces);
        Assert.Equal("wg0", wg0.Name);
        Assert.Equal(51820, wg0.ListenPort);
        Assert.Equal(1420, wg0.Mtu);
        Assert.Equal("10.10.0.1/24", Assert.Single(wg0.Addresses).ToString());
        Assert.Equal(2, wg0.Peers.Count);
        var hq = wg0.Peers[0];
        Assert.Equal("hq", hq.Name);
        Assert.Equal(ConfigFixture.PeerKeyA, hq.PublicKey.ToString());
        Assert.NotNull(hq.PresharedKey);
        Assert.Equal("hq.example.net", hq.Endpoint!.Host);
        Assert.True(hq.Endpoint.IsHostName);
        Assert.Equal(25, hq.PersistentKeepalive);
        Assert.Equal(System.Net.IPAddress.Parse("2001:db8::7"), wg0.Peers[1].Endpoint!.Address);
        Assert.Equal(2, wg0.Peers[1].AllowedIps.Count);
        Assert.Equal(17, config.Leds!.Peers["hq"].Gpio);
        Assert.True(config.Leds.Peers["lab"].ActiveLow);
        Assert.True(config.Forwarding.Enabled);
        Assert.Equal(["eth0"], config.Forwarding.Masquerade);
        Assert.False(config.Metrics.Enabled);
        Assert.Equal(StateConfig.DefaultTimestampFloorFile, config.State.TimestampFloorFile);
    }

    [Fact]
    public void InvalidUtf8IsAProblemNotAnException()
    {
        // Found by the config fuzzer (tests/Router.Fuzz): invalid UTF-8 in a field name threw InvalidOperationException
        // ("Cannot transcode invalid UTF-8 JSON text") out of ConfigLoader.Parse instead of being reported.
        byte[] json = [.. "{ \"interfaces\": { \"wg"u8, 0xC3, 0x28, .. "\": { } } }"u8];
        ConfigLoadResult result = ConfigLoader.Parse(json);
        Assert.Null(result.Config);
        Assert.Contains(result.Problems, p => p.IsError);
    }

    [Fact]
    public void SummaryNamesTheFirstErrorForSystemdStatus()
    {
        var result = _f.Load(Wg0("'listenPort': 70000, 'mtu': 1,"));
        Assert.Equal("router.json: 2 errors, first: interfaces.wg0.listenPort: error: 70000 is out of range; expected an integer from 0 to 65535", result.Summary("router.json"));
    }

    [Fact]
    public void EveryProblemIsReportedNotJustTheFirst()
    {
        var result = _f.Load("""
            { 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'listenPort': 70000, 'mtu': 10, 'colour': 1,
              'peers': [ { 'name': 'hq', 'publicKey': 'AAAA', 'allowedIps': ['300.0.0.0/8'] } ] } } }
            """);
        Assert.Null(result.Config);
        string[] paths = ["interfaces.wg0.listenPort", "interfaces.wg0.mtu", "interfaces.wg0.colour", "interfaces.wg0.peers[0].publicKey", "interfaces.wg0.peers[0].allowedIps[0]"];
        foreach (var path in paths)
            Assert.Contains(result.Problems, p => p.IsError && p.Path == path);
    }

    [Fact]
    public void CommentsTrailingCommasAndSchemaFieldAreAccepted()
    {
        var result = _f.Load("""
            {
              // editors find the schema through this field; routerd ignores it
              '$schema': './router.schema.json',
              'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', /* no peers yet */ }, },
            }
            """);
        Assert.False(result.HasErrors, string.Join("\n", result.Problems));
        result.Config!.Dispose();
    }

    [Fact]
    public void NestedPrefixesOnTwoPeersAreLegal()
    {
        var result = _f.Load(Wg0("", Peer + ", { 'name': 'lab', 'publicKey': '$B', 'allowedIps': ['10.0.5.0/24'] }"));
        Assert.False(result.HasErrors, string.Join("\n", result.Problems));
        result.Config!.Dispose();
    }

    [Fact]
    public void HostBitsInAllowedIpsAreAWarningAndNormalised()
    {
        var result = _f.Load(Wg0("", "{ 'name': 'hq', 'publicKey': '$A', 'allowedIps': ['10.192.124.1/24'] }"));
        using var config = result.Config!;
        var warning = Assert.Single(result.Problems);
        Assert.False(warning.IsError);
        Assert.Equal("interfaces.wg0.peers[0].allowedIps[0]", warning.Path);
        Assert.Contains("has host bits set; it means 10.192.124.0/24", warning.Message);
        Assert.Equal("10.192.124.0/24", config.Interfaces[0].Peers[0].AllowedIps[0].ToString());
    }

    [Fact]
    public void KeyFileReadableByOthersIsAWarning()
    {
        var result = _f.Load("{ 'interfaces': { 'wg0': { 'privateKeyFile': '$LOOSE' } } }");
        using var config = result.Config!;
        var warning = Assert.Single(result.Problems);
        Assert.Equal(ProblemSeverity.Warning, warning.Severity);
        Assert.Equal("interfaces.wg0.privateKeyFile", warning.Path);
        Assert.Contains("is accessible by group or others (mode 0644); run 'chmod 0600", warning.Message);
    }

    [Fact]
    public void KeyFileOnFatMountIsNotWarnedAbout()
    {
        // FAT shows every file with the mount's fmask: a permission warning there cannot be acted on.
        var fat = new KeyFile(hasUnixPermissions: path => !path.StartsWith(_f.Dir.Path, StringComparison.Ordinal));
        var result = _f.Load("{ 'interfaces': { 'wg0': { 'privateKeyFile': '$LOOSE' } } }", fat);
        using var config = result.Config!;
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void KeyFileWithGarbageIsAnErrorThatDoesNotEchoIt()
    {
        string path = _f.Dir.Write("bad.key", "secret-looking-garbage\n");
        var result = _f.Load($"{{ 'interfaces': {{ 'wg0': {{ 'privateKeyFile': '{path}' }} }} }}");
        Assert.Null(result.Config);
        var error = Assert.Single(result.Problems);
        Assert.Contains("does not hold a key: expected 44 characters of base64", error.Message);
        Assert.DoesNotContain("garbage", error.Message);
    }

    [Fact]
    public void InlineSecretIsNeverEchoed()
    {
        var result = _f.Load(Wg0("'privateKey': 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=',"));
        Assert.DoesNotContain(result.Problems, p => p.Message.Contains("yAnz5TF", StringComparison.Ordinal));
    }

    [Fact]
    public void StatfsSeesProcAsProcAndTmpAsHavingPermissions()
    {
        Assert.Equal(0x9fa0, Router.Daemon.Interop.Libc.FileSystemType("/proc"));
        Assert.True(FileSystemKind.HasUnixPermissions(_f.Dir.Path));
    }
}
