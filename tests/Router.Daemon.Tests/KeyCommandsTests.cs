using System.Diagnostics;
using System.Text;
using Router.Daemon.Commands;

namespace Router.Daemon.Tests;

/// <summary>genkey/pubkey/genpsk against the real wg(8): keys made by either tool work in the other.</summary>
public sealed class KeyCommandsTests
{
    private const string Wg = "/usr/bin/wg";

    private static string RunWg(string verb, string? input = null)
    {
        var psi = new ProcessStartInfo(Wg, verb) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        if (input is not null)
            p.StandardInput.Write(input);
        p.StandardInput.Close();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(10_000));
        Assert.True(p.ExitCode == 0, $"wg {verb} failed: {p.StandardError.ReadToEnd()}");
        return output;
    }

    private static (int Status, string Output, string Error) Routerd(Func<Stream, Stream, TextWriter, int> verb, string input = "")
    {
        using var stdin = new MemoryStream(Encoding.ASCII.GetBytes(input));
        using var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int status = verb(stdin, stdout, stderr);
        return (status, Encoding.ASCII.GetString(stdout.ToArray()), stderr.ToString());
    }

    private static string GenKey() => Routerd((_, o, e) => KeyCommands.GenKey(o, e)).Output;

    [Fact]
    public void GenKeyLooksLikeWgGenKeyAndIsClamped()
    {
        string key = GenKey();
        Assert.Matches("^[A-Za-z0-9+/]{43}=\n$", key);
        Assert.Equal(RunWg("genkey").Length, key.Length);
        byte[] bytes = Convert.FromBase64String(key.TrimEnd());
        Assert.Equal(0, bytes[0] & 7);
        Assert.Equal(0x40, bytes[31] & 0xC0);
    }

    [Fact]
    public void PubKeyOfRouterdKeyMatchesWg()
    {
        for (int i = 0; i < 3; i++)
        {
            string key = GenKey();
            var (status, ours, _) = Routerd((i, o, e) => KeyCommands.PubKey(i, o, e), key);
            Assert.Equal(0, status);
            Assert.Equal(RunWg("pubkey", key), ours);
        }
    }

    [Fact]
    public void PubKeyOfWgKeyMatchesWg()
    {
        for (int i = 0; i < 3; i++)
        {
            string key = RunWg("genkey");
            var (_, ours, _) = Routerd((i, o, e) => KeyCommands.PubKey(i, o, e), key);
            Assert.Equal(RunWg("pubkey", key), ours);
        }
    }

    [Fact]
    public void PubKeyAcceptsAnUnclampedKeyAsWgDoes()
    {
        string psk = RunWg("genpsk"); // 32 random bytes, not clamped
        var (_, ours, _) = Routerd((i, o, e) => KeyCommands.PubKey(i, o, e), psk);
        Assert.Equal(RunWg("pubkey", psk), ours);
    }

    [Fact]
    public void GenPskIsAWgKey()
    {
        string psk = Routerd((_, o, e) => KeyCommands.GenPsk(o, e)).Output;
        Assert.Matches("^[A-Za-z0-9+/]{43}=\n$", psk);
        // wg pubkey parses anything that is a well-formed key: a cheap way to have wg accept it.
        Assert.Matches("^[A-Za-z0-9+/]{43}=\n$", RunWg("pubkey", psk));
        Assert.NotEqual(psk, Routerd((_, o, e) => KeyCommands.GenPsk(o, e)).Output);
    }

    [Theory]
    [InlineData("")]
    [InlineData("AAAA\n")]
    [InlineData("not a key at all, not a key at all, not a key\n")]
    public void PubKeyRejectsWhatIsNotAKey(string input)
    {
        var (status, output, error) = Routerd((i, o, e) => KeyCommands.PubKey(i, o, e), input);
        Assert.Equal(1, status);
        Assert.Equal("", output);
        Assert.Contains("Key is not the correct length or format", error);
    }
}
