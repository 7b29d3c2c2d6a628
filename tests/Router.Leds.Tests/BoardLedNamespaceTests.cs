using System.Diagnostics;

namespace Router.Leds.Tests;

/// <summary>
/// The real Iot.Device.Bindings BoardLed against a /sys/class/leds tree: BoardLed hard-codes that path, so the
/// test assembly re-runs itself under `unshare -m` with a tmpfs mounted over /sys/class. The namespace, the tmpfs
/// and everything in it vanish when the helper exits; the host's /sys is never written.
/// </summary>
public sealed class BoardLedNamespaceTests
{
    [RootFact]
    public void Onboard_leds_are_driven_with_trigger_none_and_their_triggers_restored()
    {
        bool hostHadLeds = Directory.Exists("/sys/class/leds");

        Dictionary<string, string> seen = RunScenario();

        Assert.Equal(hostHadLeds, Directory.Exists("/sys/class/leds"));
        Assert.False(seen.ContainsKey("error"), seen.GetValueOrDefault("error"));

        // Up: status on ACT and peer hq on PWR, both solid, kernel triggers off.
        Assert.Equal("none", seen["up.ACT.trigger"]);
        Assert.Equal("255", seen["up.ACT.brightness"]);
        Assert.Equal("none", seen["up.PWR.trigger"]);
        Assert.Equal("255", seen["up.PWR.brightness"]);

        // Searching: slow blink, lit for the first 500 ms, then dark.
        Assert.Equal("255", seen["searching.0ms.ACT.brightness"]);
        Assert.Equal("0", seen["searching.500ms.ACT.brightness"]);
        Assert.Equal("0", seen["searching.500ms.PWR.brightness"]);

        // Stopped: each LED back to the trigger and brightness it had.
        Assert.Equal("mmc0", seen["disposed.ACT.trigger"]);
        Assert.Equal("0", seen["disposed.ACT.brightness"]);
        Assert.Equal("default-on", seen["disposed.PWR.trigger"]);
        Assert.Equal("255", seen["disposed.PWR.brightness"]);
        Assert.False(seen.ContainsKey("log"), seen.GetValueOrDefault("log"));
    }

    private static Dictionary<string, string> RunScenario()
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host
            ? host
            : RootFactAttribute.FindOnPath("dotnet") ?? throw new FileNotFoundException("dotnet host not found");
        string assembly = typeof(BoardLedScenario).Assembly.Location;

        var start = new ProcessStartInfo("unshare")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // --propagation private: the tmpfs never shows up in the parent namespace.
        foreach (string arg in (string[])["--mount", "--propagation", "private", "--", "sh", "-c",
            "mount -t tmpfs routerd-leds-test /sys/class && exec \"$0\" exec \"$1\" \"$2\"",
            dotnet, assembly, BoardLedScenario.Name])
        {
            start.ArgumentList.Add(arg);
        }

        using Process helper = Process.Start(start) ?? throw new InvalidOperationException("unshare did not start");
        Task<string> stdout = helper.StandardOutput.ReadToEndAsync();
        Task<string> stderr = helper.StandardError.ReadToEndAsync();
        if (!helper.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            helper.Kill(entireProcessTree: true);
            helper.WaitForExit();
            Assert.Fail("the namespace helper did not finish within 60 s");
        }

        string text = stdout.Result;
        Assert.True(helper.ExitCode == 0, $"helper exited {helper.ExitCode}\n{text}\n{stderr.Result}");

        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                string key = line[..eq];
                seen[key] = seen.TryGetValue(key, out string? earlier) ? $"{earlier}\n{line[(eq + 1)..]}" : line[(eq + 1)..];
            }
        }

        return seen;
    }
}
