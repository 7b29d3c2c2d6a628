using System.Diagnostics;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// Key files are watched like router.json (issue 16, point 5): a private key that is missing at start waits with a
/// clear message in 'routerd show' and the log and is picked up when restored with `mv`, also into a directory that
/// did not exist; a chmod that makes it readable by others is warned about at once; a file naming an LED the board lacks
/// is refused while the running configuration runs on; a pre-shared key rotated in place
/// reaches the engine without touching the other peer's session. No SIGHUP anywhere.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class KeyFileWatchTests(ITestOutputHelper output)
{
    private static readonly UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [RootFact]
    public void MissingPrivateKeyIsPickedUpWhenRestoredWithMv()
    {
        using var rig = new FirmwareRig();
        try
        {
            string key = Path.Combine(rig.Dir, "a.key");
            File.Delete(key);
            rig.StartWireguardGo();
            rig.WriteConfig(rig.Config());
            rig.StartRouterd();

            string show = "";
            Assert.True(Wait.Until(() => (show = rig.Cli("show").Stdout).Contains("waiting for a valid configuration"), 15_000),
                "routerd show while the key file is missing:\n" + show + "\n" + rig.Log);
            output.WriteLine(show);
            Assert.Contains($"privateKeyFile: error: key file '{key}' does not exist", show);
            Assert.Contains($"{key} read again as soon as it changes (no SIGHUP needed)", show);
            Assert.Contains($"key file '{key}' does not exist", rig.Log);
            Assert.False(TunnelPair.IsServing($"/var/run/wireguard/{rig.IfA}.sock"));

            RestoreWithMv(rig, rig.KeyA, key);
            var watch = Stopwatch.StartNew();
            Assert.True(rig.WaitForUapi(20_000), "did not come up after the key file was restored:\n" + rig.Log);
            long upMs = watch.ElapsedMilliseconds;
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.2", 1), 15_000), "no ping after the key came back:\n" + rig.Log);
            output.WriteLine($"interface up {upMs} ms, pinging {watch.ElapsedMilliseconds} ms after the mv (load {Load()})");
            Assert.True(Wait.Until(() => rig.Log.Contains($"{key} changed: configuration applied"), 5_000), rig.Log);
            Assert.DoesNotContain("SIGHUP: ", rig.Log); // no reload for that reason: the test sends none
            Assert.DoesNotContain("waiting for a valid configuration", rig.Cli("show").Stdout);

            // Wrong mode while running: accepted with a warning (as at start), logged on the chmod itself, nothing dropped.
            File.SetUnixFileMode(key, Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            Assert.True(Wait.Until(() => rig.Log.Contains($"key file '{key}' is accessible by group or others (mode 0644); run 'chmod 0600 {key}'"), 10_000),
                "no warning after chmod 0644:\n" + rig.Log);
            Assert.True(rig.Ping("10.77.0.2", 1), "tunnel lost after chmod:\n" + rig.Log);

            // Removed while running: the file is refused, the keys already loaded keep the tunnel up.
            File.Delete(key);
            Assert.True(Wait.Until(() => rig.Log.Contains($"{key} changed: the new file was refused, the running configuration stays"), 10_000), rig.Log);
            show = rig.Cli("show").Stdout;
            Assert.Contains($"running configuration OK; the file on disk was refused: {rig.ConfigPath}: 1 error, first: interfaces.{rig.IfA}.privateKeyFile: error: key file '{key}' does not exist", show);
            Assert.True(rig.Ping("10.77.0.2", 1), "tunnel lost after the key file was removed:\n" + rig.Log);
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void KeyInADirectoryThatDoesNotExistYetIsPickedUpAndABadLedFileLeavesItRunning()
    {
        using var rig = new FirmwareRig();
        try
        {
            string keys = Path.Combine(rig.Dir, "keys", "wg");
            string key = Path.Combine(keys, "a.key");
            rig.StartWireguardGo();
            rig.WriteConfig(rig.Config().Replace($"{rig.Dir}/a.key", key));
            rig.StartRouterd();
            Assert.True(Wait.Until(() => rig.Log.Contains($"key file '{key}' does not exist"), 15_000), rig.Log);

            Directory.CreateDirectory(keys); // two levels, as `mkdir -p` makes them
            RestoreWithMv(rig, rig.KeyA, key);
            var watch = Stopwatch.StartNew();
            Assert.True(rig.WaitForUapi(20_000), "did not come up after the key directory and file appeared:\n" + rig.Log);
            output.WriteLine($"interface up {watch.ElapsedMilliseconds} ms after mkdir -p and mv (load {Load()})");
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.2", 1), 15_000), rig.Log);

            // An LED the board lacks is refused like any bad file: the running configuration keeps running.
            rig.WriteConfig(rig.Config(leds: "\"leds\": { \"board\": \"rpi3b\", \"status\": \"pwr\" },").Replace($"{rig.Dir}/a.key", key));
            string show = "";
            Assert.True(Wait.Until(() => (show = rig.Cli("show").Stdout).Contains("the file on disk was refused"), 15_000), "show after a bad LED file:\n" + show + "\n" + rig.Log);
            output.WriteLine(show);
            Assert.Contains("leds.status: error: board rpi3b has no PWR LED; expected act, a GPIO or led:NAME", show);
            Assert.Contains("the new file was refused, the running configuration stays", rig.Log);
            Assert.True(rig.Ping("10.77.0.2", 1), "tunnel lost after a bad LED file:\n" + rig.Log);
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void PresharedKeyRotatedInPlaceTakesEffectAndTheOtherPeerKeepsItsSession()
    {
        using var rig = new FirmwareRig();
        try
        {
            var site = rig.AddSite("h6", 3);
            string ifC = $"fh{rig.Tag}";
            string keyC = Wg.GenKey(), pubC = Wg.PubKey(keyC);
            string psk1 = Sh.Run("wg", "genpsk").Trim(), psk2 = Sh.Run("wg", "genpsk").Trim();
            string pskFile = Path.Combine(rig.Dir, "hq.psk");
            WriteKey(pskFile, psk1);
            string json = rig.Config(keepalive: 0,
                    extraPeers: $$""", { "name": "lab", "publicKey": "{{pubC}}", "endpoint": "192.0.3.2:51820", "allowedIps": ["10.77.0.3/32"] }""")
                .Replace("\"endpoint\": \"192.0.2.2:51820\",", $"\"endpoint\": \"192.0.2.2:51820\", \"presharedKeyFile\": \"{pskFile}\",");
            rig.WriteConfig(json);

            rig.StartWireguardGo();
            string pskB = Path.Combine(rig.Dir, "b.psk");
            WriteKey(pskB, psk1);
            rig.B.Exec("wg", $"set {rig.IfB} peer {rig.PubA} preshared-key {pskB}");
            rig.StartWireguardGo(site, ifC,
                $"[Interface]\nPrivateKey = {keyC}\nListenPort = 51820\n\n[Peer]\nPublicKey = {rig.PubA}\nEndpoint = 192.0.3.1:51820\nAllowedIPs = 10.77.0.1/32\n",
                $"addr add 10.77.0.3/24 dev {ifC}");
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), rig.Log);
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.2", 1), 15_000), "no ping to hq:\n" + rig.Log);
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.3", 1), 15_000), "no ping to lab:\n" + rig.Log);
            long labHandshake = rig.LatestHandshake(pubC);
            Assert.True(labHandshake > 0);

            // Rotated in place, as `wg genpsk > hq.psk` does: the same inode, truncated and rewritten.
            File.WriteAllText(pskFile, psk2 + "\n");
            var watch = Stopwatch.StartNew();
            Assert.True(Wait.Until(() => PresharedKey(rig, rig.PubB) == psk2, 15_000),
                "the rotated pre-shared key did not reach the engine:\n" + rig.Log);
            output.WriteLine($"rotated pre-shared key in the engine {watch.ElapsedMilliseconds} ms after the write (load {Load()})");
            Assert.True(Wait.Until(() => rig.Log.Contains($"{pskFile} changed: configuration applied"), 5_000), rig.Log);
            Assert.Contains("hq: PresharedKey", rig.Log);
            string applied = rig.Log.Split('\n').Last(l => l.Contains("applied: ") && l.Contains("PresharedKey"));
            Assert.DoesNotContain("lab", applied); // only hq changed

            Assert.True(rig.Ping("10.77.0.2", 1), "hq lost its current session on the rotation:\n" + rig.Log);

            // The engine really uses it: hq still holding the old key can no longer complete a handshake ...
            ResetPeerB(rig);
            Assert.False(Wait.Until(() => PingFromB(rig), 6_000), "a handshake with the old pre-shared key succeeded:\n" + rig.Log);
            // ... and with the new one it can.
            WriteKey(pskB, psk2, replace: true);
            rig.B.Exec("wg", $"set {rig.IfB} peer {rig.PubA} preshared-key {pskB}");
            Assert.True(Wait.Until(() => PingFromB(rig), 20_000), "no handshake with the rotated pre-shared key:\n" + rig.Log);

            // The other peer's session was never touched: no new handshake, traffic flows.
            Assert.True(rig.Ping("10.77.0.3", 1), "lab lost its tunnel:\n" + rig.Log);
            Assert.Equal(labHandshake, rig.LatestHandshake(pubC));
            Assert.DoesNotContain("SIGHUP: ", rig.Log); // no reload for that reason: the test sends none
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    /// <summary>Writes the key to a temporary file and moves it into place with mv(1), as an admin would restore it.</summary>
    private static void RestoreWithMv(FirmwareRig rig, string base64, string path)
    {
        string temp = Path.Combine(rig.Dir, "restore.tmp");
        WriteKey(temp, base64);
        Sh.Run("mv", $"{temp} {path}");
    }

    private static void WriteKey(string path, string base64, bool replace = false)
    {
        if (replace)
            File.Delete(path);
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, Private);
        File.WriteAllText(path, base64 + "\n");
    }

    /// <summary>Drops B's peer (and so its session) and configures it again with the key files B has now.</summary>
    private static void ResetPeerB(FirmwareRig rig)
    {
        rig.B.Exec("wg", $"set {rig.IfB} peer {rig.PubA} remove");
        rig.B.Exec("wg", $"addconf {rig.IfB} {Path.Combine(rig.Dir, "b.conf")}");
        rig.B.Exec("wg", $"set {rig.IfB} peer {rig.PubA} preshared-key {Path.Combine(rig.Dir, "b.psk")}");
    }

    private static bool PingFromB(FirmwareRig rig)
    {
        try
        {
            rig.B.Exec("ping", "-c 1 -W 1 10.77.0.1");
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string? PresharedKey(FirmwareRig rig, string publicKey)
        => rig.A.Exec("wg", $"show {rig.IfA} preshared-keys").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t')).FirstOrDefault(p => p[0] == publicKey)?[1].Trim();

    private static string Load() => File.ReadAllText("/proc/loadavg").Trim();
}
