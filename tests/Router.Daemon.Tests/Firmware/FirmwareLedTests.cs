using System.Diagnostics;
using System.Globalization;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// routerd drives the on-board ACT LED from the engine through a real handshake with wireguard-go: searching, up,
/// searching again after the peer goes away. routerd runs in a private mount namespace where /sys/class is a
/// directory of this test laid out like a Pi 4's /sys/class/leds, so the real BoardLed writes files the test samples.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class FirmwareLedTests(ITestOutputHelper output)
{
    private enum Seen { Dark, Blinking, Lit }

    [RootFact]
    public void ActLedShowsSearchingThenUpThenSearchingAgain()
    {
        using var rig = new FirmwareRig();
        string sysClass = Path.Combine(rig.Dir, "sysclass");
        string act = Path.Combine(sysClass, "leds", "ACT");
        Directory.CreateDirectory(act);
        File.WriteAllText(Path.Combine(act, "brightness"), "0\n");
        File.WriteAllText(Path.Combine(act, "max_brightness"), "255\n");
        File.WriteAllText(Path.Combine(act, "trigger"), "none [mmc0] timer heartbeat\n");
        Process? sampler = null;
        Process? ping = null;
        string samples = Path.Combine(rig.Dir, "samples");
        try
        {
            rig.WriteConfig(rig.Config(keepalive: 1, leds: "\"leds\": { \"board\": \"rpi4b\", \"status\": \"act\" },"));
            rig.StartRouterd(wrapper: $"mount --bind {sysClass} /sys/class");
            Assert.True(rig.WaitForUapi(), "routerd did not come up:\n" + rig.Log);
            // Sample the brightness every ~20 ms from a shell: BoardLed holds the file with an flock, plain reads pass.
            sampler = Sh.Start("bash", $"-c \"while :; do read -r b < {act}/brightness; echo $EPOCHREALTIME $b; sleep 0.02; done > {samples}\"");
            var watch = Stopwatch.StartNew();

            // No peer yet: initiations go unanswered (persistent keepalive 1 s starts them at once)
            Assert.True(WaitFor(samples, Seen.Blinking, 20), "never searching (slow blink) without the peer:\n" + rig.Log);
            Assert.Equal("none", FirmwareRig.Cat(Path.Combine(act, "trigger")).Trim());
            output.WriteLine($"searching after {watch.ElapsedMilliseconds} ms");

            rig.StartWireguardGo();
            ping = rig.A.Start("ping", "-i 0.5 -W 1 10.77.0.2");
            watch.Restart();
            Assert.True(WaitFor(samples, Seen.Lit, 20), "never up after wireguard-go came:\n" + rig.Log);
            output.WriteLine($"up (solid/flicker) {watch.ElapsedMilliseconds} ms after wireguard-go was configured");
            output.WriteLine(rig.Cli("show").Stdout);
            Thread.Sleep(2_000);
            Assert.Equal(Seen.Lit, Classify(samples, TimeSpan.FromSeconds(2))); // and it stays up
            output.WriteLine($"still up: {Runs(samples)}");

            rig.KillWireguardGo();
            watch.Restart();
            Assert.True(WaitFor(samples, Seen.Blinking, 30), "not searching within 30 s of the peer going away:\n" + rig.Log);
            output.WriteLine($"searching again {watch.ElapsedMilliseconds} ms after wireguard-go was killed");
            output.WriteLine(rig.Cli("show").Stdout);

            // The kernel lists triggers with the active one in brackets: play it, then stop routerd and check the restore.
            Sh.Run("sh", $"-c \"printf '[none] mmc0 timer heartbeat\\n' > {act}/trigger\"");
            Assert.True(rig.Stop(), "routerd did not exit on SIGTERM");
            Assert.Equal("mmc0", FirmwareRig.Cat(Path.Combine(act, "trigger")).Trim());
        }
        finally
        {
            foreach (var p in new[] { sampler, ping })
            {
                try
                {
                    if (p is not null && !p.HasExited)
                        p.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException) { }
                p?.Dispose();
            }
            output.WriteLine(rig.Log);
        }
    }

    /// <summary>Waits until the last 2 s of samples show <paramref name="want"/>.</summary>
    private bool WaitFor(string samples, Seen want, int seconds)
    {
        var watch = Stopwatch.StartNew();
        Seen last = Seen.Dark;
        while (watch.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            Thread.Sleep(500);
            last = Classify(samples, TimeSpan.FromSeconds(2));
            if (last == want)
            {
                output.WriteLine($"{want}: {Runs(samples)}");
                return true;
            }
        }
        output.WriteLine($"wanted {want}, last saw {last}: {Runs(samples)}");
        return false;
    }

    /// <summary>The last 3 s of samples as runs: "on 480ms, off 510ms, …" (for the test output).</summary>
    private static string Runs(string samples)
    {
        var points = Read(samples);
        if (points.Count == 0)
            return "(no samples)";
        double end = points[^1].T;
        points = points.Where(p => p.T >= end - 3).ToList();
        var runs = new List<string>();
        int i = 0;
        while (i < points.Count)
        {
            int j = i;
            while (j + 1 < points.Count && points[j + 1].On == points[i].On)
                j++;
            double until = j + 1 < points.Count ? points[j + 1].T : points[j].T;
            runs.Add($"{(points[i].On ? "on" : "off")} {(until - points[i].T) * 1000:0}ms");
            i = j + 1;
        }
        return string.Join(", ", runs);
    }

    private static List<(double T, bool On)> Read(string samples)
    {
        var points = new List<(double T, bool On)>();
        try
        {
            foreach (var line in File.ReadAllLines(samples))
            {
                var parts = line.Split(' ');
                if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double t) && int.TryParse(parts[1], out int b))
                    points.Add((t, b > 0));
            }
        }
        catch (IOException)
        {
        }
        return points;
    }

    /// <summary>
    /// Blinking: dark stretches of 300 ms or more between lit ones (searching blinks at 1 Hz, 500 ms each way).
    /// Lit: lit at least 70 % of the time and never dark for 250 ms (up is solid; traffic darkens 50 ms in 300).
    /// </summary>
    private static Seen Classify(string samples, TimeSpan window)
    {
        var points = Read(samples);
        if (points.Count < 10)
            return Seen.Dark;
        double end = points[^1].T;
        points = points.Where(p => p.T >= end - window.TotalSeconds).ToList();
        // A dark stretch is measured from its first to its last dark sample, so a sampler that stalls under load
        // (one dark sample, then nothing for a while) does not look like a long dark phase.
        double longestDark = 0, darkFirst = -1, darkLast = -1;
        int lit = 0;
        bool sawLit = false;
        foreach (var (t, on) in points)
        {
            if (on)
            {
                lit++;
                sawLit = true;
                if (darkFirst >= 0)
                    longestDark = Math.Max(longestDark, darkLast - darkFirst);
                darkFirst = -1;
            }
            else
            {
                if (darkFirst < 0)
                    darkFirst = t;
                darkLast = t;
            }
        }
        if (darkFirst >= 0)
            longestDark = Math.Max(longestDark, darkLast - darkFirst);
        if (!sawLit)
            return Seen.Dark;
        if (longestDark >= 0.3 && lit < points.Count)
            return Seen.Blinking;
        return lit >= 0.7 * points.Count && longestDark < 0.25 ? Seen.Lit : Seen.Dark;
    }
}
