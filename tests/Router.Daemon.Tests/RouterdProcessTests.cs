using System.Diagnostics;

namespace Router.Daemon.Tests;

/// <summary>Runs the built routerd as a person would and checks what the shell sees: exit status and output.</summary>
public sealed class RouterdProcessTests
{
    private static (int Status, string Out, string Err) Routerd(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "routerd.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), "routerd did not exit");
        return (p.ExitCode, output, error);
    }

    [Fact]
    public void UnknownOptionExitsWithStatus2AndOneLine()
    {
        var (status, output, error) = Routerd("--no-such-option");
        Assert.Equal(2, status);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains("--no-such-option", error);
    }

    [Fact]
    public void VersionPrintsTheVersion()
    {
        var (status, output, _) = Routerd("--version");
        Assert.Equal(0, status);
        Assert.StartsWith("routerd ", output);
    }

    [Fact]
    public void HelpListsEveryVerb()
    {
        var (status, output, _) = Routerd("--help");
        Assert.Equal(0, status);
        foreach (var verb in new[] { "run", "check", "apply", "show", "genkey", "pubkey", "genpsk", "import", "selftest", "bench" })
            Assert.Contains(verb, output);
    }

    [Fact]
    public void CheckExitsOneOnErrorsAndZeroWithWarningsOnly()
    {
        using var dir = new TempDirectory();
        string key = dir.Write("wg0.key", "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n");
        string bad = dir.Write("bad.json", $$"""{ "interfaces": { "wg0": { "privateKeyFile": "{{key}}", "listenPort": 70000 } } }""");
        var (status, output, _) = Routerd("check", bad);
        Assert.Equal(1, status);
        Assert.Contains("interfaces.wg0.listenPort: error: 70000 is out of range", output);

        string warn = dir.Write("warn.json", $$"""{ "interfaces": { "wg0": { "privateKeyFile": "{{key}}", "peers": [ { "name": "a", "publicKey": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "allowedIps": ["10.1.2.3/16"] } ] } } }""");
        (status, output, _) = Routerd("check", warn);
        Assert.Equal(0, status);
        Assert.Contains("warning: '10.1.2.3/16' has host bits set", output);
    }

    [Fact]
    public void GenKeyThroughTheBinaryIsAcceptedByWg()
    {
        var (status, key, _) = Routerd("genkey");
        Assert.Equal(0, status);
        var psi = new ProcessStartInfo("/usr/bin/wg", "pubkey") { RedirectStandardInput = true, RedirectStandardOutput = true };
        using var wg = Process.Start(psi)!;
        wg.StandardInput.Write(key);
        wg.StandardInput.Close();
        string wgPublic = wg.StandardOutput.ReadToEnd();
        Assert.True(wg.WaitForExit(10_000));
        Assert.Equal(0, wg.ExitCode);
        Assert.Matches("^[A-Za-z0-9+/]{43}=\n$", wgPublic);
    }
}
