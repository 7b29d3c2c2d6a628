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
}
