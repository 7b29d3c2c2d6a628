using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Router.Daemon.Tests.Firmware;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Metrics;

/// <summary>
/// The alerting metrics scraped from a real 'routerd run' against wireguard-go (issue 16): a working peer is up with
/// its handshake counters moving, a wrong key on either side shows up 0 and the failure by cause, an invalid file on
/// disk turns router_config_valid to 0 while the running configuration keeps carrying traffic, and every metric the
/// contrib/ dashboard and alert rules use is one this daemon exports.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class MetricsDaemonTests(ITestOutputHelper output)
{
    private const int BoundMs = 30_000;

    private static string Load => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static string MetricsSocket(FirmwareRig rig) => Path.Combine(rig.Dir, "metrics.sock");

    // The rig's "leds" slot takes any top-level JSON member.
    private static string WithMetrics(FirmwareRig rig) => $"\"metrics\": {{ \"enabled\": true, \"listen\": \"unix:{MetricsSocket(rig)}\" }},";

    [RootFact]
    public void AWorkingPeerIsUpAndAnInvalidFileOnlyTurnsConfigValidOff()
    {
        using var rig = new FirmwareRig();
        string text = "";
        try
        {
            rig.StartWireguardGo();
            rig.WriteConfig(rig.Config(keepalive: 25, leds: WithMetrics(rig)));
            var watch = Stopwatch.StartNew();
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up");
            string peer = $"interface=\"{rig.IfA}\",peer=\"hq\",public_key=\"{rig.PubB}\"";
            Assert.True(Wait.Until(() => (text = TryScrape(rig)).Contains($"router_peer_up{{{peer}}} 1\n", StringComparison.Ordinal), BoundMs),
                "router_peer_up not 1:\n" + text);
            output.WriteLine($"router_peer_up 1 after {watch.ElapsedMilliseconds} ms (load {Load})");
            Assert.True(rig.Ping("10.77.0.2"));
            Assert.True(Wait.Until(() => Value(text = TryScrape(rig), $"router_peer_receive_bytes_total{{{peer}}}") > 0, BoundMs), text);
            Assert.True(Value(text, $"router_peer_handshake_initiations_total{{{peer}}}") >= 1, text);
            Assert.True(Value(text, $"router_peer_handshakes_completed_total{{{peer}}}") >= 1, text);
            Assert.Equal(0, Value(text, $"router_peer_handshakes_failed_total{{{peer},cause=\"unknown_key\"}}"));
            Assert.Equal(0, Value(text, $"router_peer_handshakes_failed_total{{{peer},cause=\"bad_mac1\"}}"));
            Assert.InRange(Value(text, $"router_peer_handshake_age_seconds{{{peer}}}"), 0, 60);
            Assert.Equal(1, Value(text, "router_config_valid"));
            Assert.Equal(1, Value(text, "router_config_running"));
            Assert.Equal(1, Value(text, "router_config_last_apply_success"));
            Assert.Matches("router_build_info\\{version=\"[0-9][^\"]*\",dotnet=\"[0-9.]+\"\\} 1\n", text);
            double rss = Value(text, "process_resident_memory_bytes");
            output.WriteLine($"routerd: RSS {rss / 1e6:0.0} MB, CPU {Value(text, "process_cpu_seconds_total")} s, {Value(text, "process_open_fds")} fds");
            Assert.InRange(rss, 1e6, 500e6);
            Assert.InRange(Value(text, "process_start_time_seconds"), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 300, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2);

            // Every name the dashboard and the rules use is here.
            var used = AlertingMetricsTests.ContribMetricNames();
            var missing = used.Except(AlertingMetricsTests.ExportedNames(text)).ToList();
            Assert.True(missing.Count == 0, "contrib/ uses metrics routerd does not export: " + string.Join(", ", missing));
            output.WriteLine($"all {used.Count} metric names of contrib/ are exported");
            LintWithPromtool(text);

            // hq sends from an address its allowedIps here do not cover: dropped, and pinned on hq.
            rig.B.Ip($"addr add 10.79.0.1/32 dev {rig.IfB}");
            rig.StartTracked(rig.B, "ping", "-c 3 -i 0.2 -W 1 -I 10.79.0.1 10.77.0.1");
            string mismatch = $"router_peer_packets_dropped_total{{{peer},reason=\"allowed_ips_mismatch\"}}";
            Assert.True(Wait.Until(() => Value(text = TryScrape(rig), mismatch) >= 1, BoundMs), "no allowed_ips_mismatch drop for hq:\n" + text);
            Assert.True(Value(text, $"router_packets_dropped_total{{interface=\"{rig.IfA}\",reason=\"allowed_ips_mismatch\"}}") >= Value(text, mismatch));

            // A broken file on disk: refused, the running configuration stays and still carries traffic.
            rig.WriteConfig("{ \"interfaces\": ");
            Assert.True(Wait.Until(() => (text = TryScrape(rig)).Contains("router_config_valid 0\n", StringComparison.Ordinal), BoundMs),
                "router_config_valid not 0:\n" + text);
            Assert.Equal(1, Value(text, "router_config_running"));
            Assert.Equal(1, Value(text, $"router_peer_up{{{peer}}}"));
            Assert.True(rig.Ping("10.77.0.2"), "the running configuration stopped carrying traffic");
            Assert.False(rig.Routerd!.HasExited);

            // Fixed again: valid.
            rig.WriteConfig(rig.Config(keepalive: 25, leds: WithMetrics(rig)));
            Assert.True(Wait.Until(() => (text = TryScrape(rig)).Contains("router_config_valid 1\n", StringComparison.Ordinal), BoundMs),
                "router_config_valid not back to 1:\n" + text);
        }
        finally
        {
            output.WriteLine(text);
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void OurEntryWithTheWrongKeyIsDownWithUnknownKeyAndNoResponse()
    {
        using var rig = new FirmwareRig();
        string text = "";
        try
        {
            // routerd's entry for hq names another key: hq's initiations come from a key routerd does not know, and
            // routerd's initiations (made for the wrong key) go unanswered.
            string wrong = Wg.PubKey(Wg.GenKey());
            rig.StartWireguardGo(keepalive: 1);
            rig.WriteConfig(rig.Config(keepalive: 25, leds: WithMetrics(rig)).Replace(rig.PubB, wrong, StringComparison.Ordinal));
            var watch = Stopwatch.StartNew();
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up");
            rig.StartTracked(rig.B, "ping", "-c 60 -i 0.5 -W 1 10.77.0.1"); // makes wireguard-go initiate
            string peer = $"interface=\"{rig.IfA}\",peer=\"hq\",public_key=\"{wrong}\"";
            Assert.True(Wait.Until(() => Value(text = TryScrape(rig), $"router_peer_handshakes_failed_total{{{peer},cause=\"unknown_key\"}}") > 0
                && Value(text, $"router_peer_handshakes_failed_total{{{peer},cause=\"no_response\"}}") > 0, BoundMs),
                "no unknown_key and no_response failures:\n" + text);
            output.WriteLine($"unknown_key {Value(text, $"router_peer_handshakes_failed_total{{{peer},cause=\"unknown_key\"}}")}, no_response {Value(text, $"router_peer_handshakes_failed_total{{{peer},cause=\"no_response\"}}")} after {watch.ElapsedMilliseconds} ms (load {Load})");
            Assert.Equal(0, Value(text, $"router_peer_up{{{peer}}}"));
            Assert.Equal(0, Value(text, $"router_peer_handshakes_completed_total{{{peer}}}"));
            Assert.Equal(0, Value(text, $"router_peer_last_handshake_timestamp_seconds{{{peer}}}"));
            Assert.DoesNotContain("router_peer_handshake_age_seconds{", text); // never connected: absent, with up 0
            Assert.True(Value(text, $"router_peer_handshake_initiations_total{{{peer}}}") >= 2, text);
            Assert.True(Value(text, $"router_packets_dropped_total{{interface=\"{rig.IfA}\",reason=\"no_peer\"}}") > 0, text);
        }
        finally
        {
            output.WriteLine(text);
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void TheFarSideWithTheWrongKeyForUsIsDownWithBadMac1()
    {
        using var rig = new FirmwareRig();
        string text = "";
        try
        {
            // wireguard-go's entry for routerd names another key: its initiations fail routerd's mac1 check.
            rig.StartWireguardGo(peerPublicKey: Wg.PubKey(Wg.GenKey()), keepalive: 1);
            rig.WriteConfig(rig.Config(keepalive: 25, leds: WithMetrics(rig)));
            var watch = Stopwatch.StartNew();
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up");
            rig.StartTracked(rig.B, "ping", "-c 60 -i 0.5 -W 1 10.77.0.1");
            string peer = $"interface=\"{rig.IfA}\",peer=\"hq\",public_key=\"{rig.PubB}\"";
            Assert.True(Wait.Until(() => Value(text = TryScrape(rig), $"router_peer_handshakes_failed_total{{{peer},cause=\"bad_mac1\"}}") > 0, BoundMs),
                "no bad_mac1 failures:\n" + text);
            output.WriteLine($"bad_mac1 {Value(text, $"router_peer_handshakes_failed_total{{{peer},cause=\"bad_mac1\"}}")} after {watch.ElapsedMilliseconds} ms (load {Load})");
            Assert.Equal(0, Value(text, $"router_peer_up{{{peer}}}"));
            Assert.True(Value(text, $"router_packets_dropped_total{{interface=\"{rig.IfA}\",reason=\"bad_mac1\"}}") > 0, text);
        }
        finally
        {
            output.WriteLine(text);
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void AnInterfaceThatCannotComeUpTurnsLastApplyOff()
    {
        using var rig = new FirmwareRig();
        string text = "";
        try
        {
            // Another program holds the interface's UDP port: the file is valid, bringing the interface up fails.
            var holder = rig.StartTracked(rig.A, "ncat", "-u -l 51820");
            Assert.True(Wait.Until(() => rig.A.Exec("ss", "-uln").Contains(":51820 ", StringComparison.Ordinal), 10_000), "ncat did not bind 51820");
            rig.WriteConfig(rig.Config(keepalive: 25, leds: WithMetrics(rig)));
            rig.StartRouterd();
            Assert.True(Wait.Until(() => (text = TryScrape(rig)).Contains("router_config_last_apply_success", StringComparison.Ordinal), BoundMs),
                "no scrape with the last apply:\n" + text);
            Assert.Equal(0, Value(text, "router_config_last_apply_success"));
            Assert.Equal(1, Value(text, "router_config_valid"));
            Assert.Equal(1, Value(text, "router_config_running"));
            Assert.False(holder.HasExited);
        }
        finally
        {
            output.WriteLine(text);
            output.WriteLine(rig.Log);
        }
    }

    /// <summary>
    /// `promtool check metrics` on a real scrape: the exposition format parses and the names follow Prometheus'
    /// conventions. promtool comes from scripts/install-deps.sh test (the test command has it); without it, said and skipped.
    /// </summary>
    private void LintWithPromtool(string scrape)
    {
        string promtool = "/var/tmp/router-promtool-cache/usr/bin/promtool";
        if (!File.Exists(promtool))
        {
            output.WriteLine($"{promtool} not found (scripts/install-deps.sh test fetches it): metrics lint skipped");
            return;
        }
        var psi = new ProcessStartInfo(promtool, "check metrics") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(scrape);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(30_000), "promtool check metrics hung");
        string said = (stdout.Result + stderr.Result).Trim();
        output.WriteLine($"promtool check metrics: exit {p.ExitCode} {said}");
        Assert.True(p.ExitCode == 0 && said.Length == 0, "promtool check metrics: " + said);
    }

    /// <summary>The value of the sample <paramref name="series"/> (name and labels exactly); NaN when absent.</summary>
    private static double Value(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
        }
        return double.NaN;
    }

    /// <summary>One scrape of the rig's metrics socket; "" while it does not answer yet.</summary>
    private static string TryScrape(FirmwareRig rig)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.ReceiveTimeout = 5000;
            socket.SendTimeout = 5000;
            socket.Connect(new UnixDomainSocketEndPoint(MetricsSocket(rig)));
            socket.Send("GET /metrics HTTP/1.0\r\n\r\n"u8);
            var received = new MemoryStream();
            var buffer = new byte[8192];
            int n;
            while ((n = socket.Receive(buffer)) > 0)
                received.Write(buffer, 0, n);
            string response = Encoding.UTF8.GetString(received.ToArray());
            int body = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return body < 0 ? "" : response[(body + 4)..];
        }
        catch (SocketException)
        {
            return "";
        }
    }
}
