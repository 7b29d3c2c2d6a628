using System.Diagnostics;

namespace Router.Leds.Tests;

/// <summary>
/// Runs inside a private mount namespace with a tmpfs over /sys/class (see BoardLedNamespaceTests): lays out
/// /sys/class/leds/ACT and PWR as a Pi 4 has them, drives them through the real BoardLed, and prints what the
/// files held at each point as "key=value" lines for the parent test to check.
/// </summary>
internal static class BoardLedScenario
{
    public const string Name = "boardled-scenario";

    private const string Leds = "/sys/class/leds";

    public static int Run(TextWriter output)
    {
        // Refuse to touch a real LED tree: this must only ever run on the namespace's tmpfs.
        if (Directory.Exists(Leds))
        {
            output.WriteLine("error=/sys/class/leds already exists; not inside the test namespace");
            return 3;
        }

        // As the kernel prints them: every trigger, the active one in brackets, a newline at the end. PWR's
        // trigger is last on purpose: BoardLed cannot set a last-listed trigger, so its restore takes the fallback.
        FakeLed("ACT", brightness: "0\n", trigger: "none [mmc0] timer heartbeat\n");
        FakeLed("PWR", brightness: "255\n", trigger: "none timer heartbeat [default-on]\n");

        var clock = new VirtualClock();
        var options = new LedOptions { Board = "rpi4b", Status = LedTarget.Act, Peers = [new PeerLed("hq", LedTarget.Pwr)] };
        var controller = new LedController(
            options,
            line => output.WriteLine($"log={line}"),
            () => clock.Now,
            gpioFactory: () => throw new InvalidOperationException("no GPIO in this scenario"),
            boardLedFactory: null, // the real BoardLed
            runThread: false);

        controller.Publish(Snapshots.One(Snapshots.Up(clock.Now)));
        controller.RunOnce();
        Observe(output, "up");

        clock.Now += TimeSpan.FromSeconds(1);
        controller.Publish(Snapshots.One(Snapshots.Searching()));
        controller.RunOnce();
        Observe(output, "searching.0ms");
        clock.Now += TimeSpan.FromMilliseconds(500);
        controller.RunOnce();
        Observe(output, "searching.500ms");

        // A plain file keeps exactly what was written ("none"); the kernel instead renders every trigger with the
        // active one in brackets on each read. Play the kernel here, as BoardLed checks a trigger against that list.
        Shell($"printf '[none] mmc0 timer heartbeat\\n' > {Leds}/ACT/trigger; printf '[none] timer heartbeat default-on\\n' > {Leds}/PWR/trigger");

        controller.Dispose();
        Observe(output, "disposed");
        return 0;
    }

    private static void FakeLed(string name, string brightness, string trigger)
    {
        string dir = Directory.CreateDirectory($"{Leds}/{name}").FullName;
        File.WriteAllText($"{dir}/brightness", brightness);
        File.WriteAllText($"{dir}/max_brightness", "255\n");
        File.WriteAllText($"{dir}/trigger", trigger);
    }

    // The files are read and written by another process: BoardLed holds them open with FileShare.None, which
    // .NET backs with flock, so a second open from this process would fail where the kernel's own readers do not.
    private static void Observe(TextWriter output, string when) =>
        output.Write(Shell(
            $"for led in ACT PWR; do for f in trigger brightness; do echo \"{when}.$led.$f=$(cat {Leds}/$led/$f)\"; done; done"));

    private static string Shell(string script)
    {
        var start = new ProcessStartInfo("sh") { RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using Process shell = Process.Start(start) ?? throw new InvalidOperationException("sh did not start");
        string text = shell.StandardOutput.ReadToEnd();
        shell.WaitForExit();
        return shell.ExitCode == 0 ? text : throw new InvalidOperationException($"sh -c '{script}' exited {shell.ExitCode}");
    }
}
