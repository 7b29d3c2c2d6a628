using Router.Daemon.Cli;

namespace Router.Daemon.Tests;

public sealed class CommandLineTests
{
    private static ParsedCommand Ok(params string[] args)
    {
        var parsed = CommandLine.Parse(args, out string? error);
        Assert.True(parsed is not null, error);
        return parsed!;
    }

    private static string Fails(params string[] args)
    {
        var parsed = CommandLine.Parse(args, out string? error);
        Assert.Null(parsed);
        Assert.False(string.IsNullOrEmpty(error));
        Assert.DoesNotContain('\n', error);
        return error!;
    }

    [Theory]
    [InlineData("run", nameof(Verb.Run))]
    [InlineData("check", nameof(Verb.Check))]
    [InlineData("apply", nameof(Verb.Apply))]
    [InlineData("show", nameof(Verb.Show))]
    [InlineData("peer", nameof(Verb.Peer))]
    [InlineData("genkey", nameof(Verb.GenKey))]
    [InlineData("pubkey", nameof(Verb.PubKey))]
    [InlineData("genpsk", nameof(Verb.GenPsk))]
    [InlineData("import", nameof(Verb.Import))]
    [InlineData("selftest", nameof(Verb.SelfTest))]
    [InlineData("bench", nameof(Verb.Bench))]
    public void KnownVerbWinsOverInterfaceName(string word, string verb) => Assert.Equal(verb, Ok(word).Verb.ToString());

    [Theory]
    [InlineData("shwo", "show")]
    [InlineData("sho", "show")]
    [InlineData("Show", "show")]
    [InlineData("chekc", "check")]
    [InlineData("aply", "apply")]
    [InlineData("confrim", "confirm")]
    [InlineData("genkye", "genkey")]
    [InlineData("selftets", "selftest")]
    [InlineData("confrm", "confirm")]
    [InlineData("rum", "run")]
    [InlineData("pear", "peer")]
    public void AWordOneTypoFromAVerbIsAnErrorWithASuggestion(string word, string verb)
    {
        string error = Fails(word);
        Assert.Contains($"did you mean '{verb}'?", error);
        Assert.Contains($"routerd -- {word}", error); // the way to name such an interface
    }

    [Theory]
    [InlineData("shwo")]
    [InlineData("rum")]
    public void DoubleDashStillNamesAnInterfaceLikeATypo(string name)
    {
        var c = Ok("--", name);
        Assert.Equal(Verb.DropIn, c.Verb);
        Assert.Equal(name, c.Interface);
    }

    [Theory]
    [InlineData("wg0")]
    [InlineData("tun1")]
    [InlineData("office")]
    [InlineData("branch")]
    [InlineData("uplink")]
    public void InterfaceNamesFarFromEveryVerbStayInterfaces(string name) => Assert.Equal(Verb.DropIn, Ok(name).Verb);

    [Fact]
    public void BareWordIsAnInterfaceName()
    {
        var c = Ok("wg0");
        Assert.Equal(Verb.DropIn, c.Verb);
        Assert.Equal("wg0", c.Interface);
        Assert.False(c.Foreground);
    }

    [Theory]
    [InlineData("-f", "wg0")]
    [InlineData("--foreground", "wg0")]
    public void ForegroundDropIn(string flag, string name)
    {
        var c = Ok(flag, name);
        Assert.Equal(Verb.DropIn, c.Verb);
        Assert.True(c.Foreground);
        Assert.Equal(name, c.Interface);
    }

    [Fact]
    public void DoubleDashForcesDropInForVerbNamedInterface()
    {
        var c = Ok("-f", "--", "run");
        Assert.Equal(Verb.DropIn, c.Verb);
        Assert.Equal("run", c.Interface);
        Assert.True(c.Foreground);
        Assert.Equal(Verb.DropIn, Ok("--", "show").Verb);
    }

    [Fact]
    public void VersionAndHelp()
    {
        Assert.Equal(Verb.Version, Ok("--version").Verb);
        Assert.Equal(Verb.Help, Ok("--help").Verb);
        Assert.Equal(Verb.Help, Ok().Verb);
        var verbHelp = Ok("apply", "--help");
        Assert.Equal(Verb.Help, verbHelp.Verb);
        Assert.Equal("apply", Assert.Single(verbHelp.Arguments));
        Assert.Contains("--confirm", CommandLine.Usage("apply"));
    }

    [Fact]
    public void VerbOptionsAndArguments()
    {
        var apply = Ok("apply", "-", "--confirm", "120");
        Assert.Equal("-", Assert.Single(apply.Arguments));
        Assert.Equal("120", apply.Option("confirm"));

        var run = Ok("run", "--config=/tmp/r.json");
        Assert.Equal("/tmp/r.json", run.Option("config"));
        Assert.Equal("/tmp/r.json", Ok("run", "-c", "/tmp/r.json").Option("config"));

        Assert.True(Ok("show", "--json").Has("json"));
        Assert.Equal("out.json", Ok("import", "wg0.conf", "-o", "out.json").Option("output"));
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("run", "--bogus")]
    [InlineData("show", "--json=yes")]
    [InlineData("apply", "--confirm")]
    [InlineData("genkey", "extra")]
    [InlineData("wg0", "extra")]
    [InlineData("-f")]
    [InlineData("--", "a", "b")]
    [InlineData("this-name-is-too-long")]
    [InlineData("-f", "genkey")]
    public void BadCommandLinesGiveOneLineErrors(params string[] args) => Fails(args);

    [Fact]
    public void PeerTakesASubcommandANameAndItsOptions()
    {
        var c = Ok("peer", "add", "branch2", "--public-key", "K", "--allowed-ips=10.1.0.0/24,10.2.0.0/24", "--endpoint", "h:1", "--keepalive", "25",
            "--preshared-key-file", "/etc/router/b.psk", "-i", "wg0", "--confirm", "60");
        Assert.Equal(Verb.Peer, c.Verb);
        Assert.Equal(["add", "branch2"], c.Arguments);
        Assert.Equal("10.1.0.0/24,10.2.0.0/24", c.Option("allowed-ips"));
        Assert.Equal("wg0", c.Option("interface"));
        Assert.True(Ok("peer", "export", "phone", "--qr").Has("qr"));
        Assert.Contains("unknown option '--publickey' for 'peer'", Fails("peer", "add", "x", "--publickey", "K"));
        Assert.Contains("too many arguments for 'peer'", Fails("peer", "add", "x", "y"));
        var help = Ok("peer", "--help");
        Assert.Equal(Verb.Help, help.Verb);
        string usage = CommandLine.Usage("peer");
        foreach (var option in new[] { "--public-key", "--allowed-ips", "--endpoint", "--keepalive", "--preshared-key-file", "--interface", "--confirm", "--private-key-file", "--qr" })
            Assert.Contains(option, usage);
        Assert.Contains("peer add|remove|export NAME", CommandLine.Usage());
    }
}
