using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Router.Daemon.Tests.Config;

/// <summary>
/// docs/LEDS.md and the validator cannot drift: every JSON example on the page, every `board`, `status` and peer form
/// its Configuration lists give, is put into a router.json beside real key files and must pass `routerd check` (the
/// process, as an admin runs it); and a few wrong ones must fail with their JSON path, so the check is not vacuous.
/// </summary>
public sealed partial class LedsDocTests : IDisposable
{
    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    private static string Page => File.ReadAllText(Path.Combine(RepoRoot(), "docs", "LEDS.md"));

    [Fact]
    public void EveryJsonExampleOnThePagePassesCheck()
    {
        var examples = JsonBlock().Matches(Page).Select(m => m.Groups[1].Value).Where(b => b.TrimStart().StartsWith("\"leds\"", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(examples);
        foreach (string example in examples)
        {
            var leds = JsonNode.Parse("{" + example + "}")!["leds"]!.AsObject();
            var (exit, output) = Check(leds);
            Assert.True(exit == 0, $"docs/LEDS.md example refused by routerd check:\n{example}\n{output}");
        }
    }

    [Fact]
    public void EveryBoardStatusAndPeerFormThePageListsPassesCheck()
    {
        string[] boards = Forms("board");
        Assert.Equal(["rpi3b", "rpi3bplus", "rpi4b", "rpi400", "rpi5", "cm4", "zero2w"], boards);
        string[] statuses = Forms("status");
        Assert.True(statuses.Length >= 7, "status forms: " + string.Join(", ", statuses));
        string[] peerForms = Forms("peers").Where(f => f.StartsWith('{')).ToArray();
        Assert.True(peerForms.Length >= 6, "peer forms: " + string.Join(", ", peerForms));

        var failures = new List<string>();
        foreach (string board in boards)
            Expect(0, new JsonObject { ["board"] = board }, $"board {board}");
        foreach (string status in statuses)
            Expect(0, new JsonObject { ["board"] = "rpi4b", ["status"] = status }, $"status {status}");
        foreach (string form in peerForms)
        {
            // "status": "none", so a peer may take the on-board LED the status LED would otherwise hold.
            var leds = new JsonObject { ["board"] = "rpi4b", ["status"] = "none", ["peers"] = new JsonObject { ["hq"] = JsonNode.Parse(form) } };
            Expect(0, leds, $"peer form {form}");
        }

        // The same machinery refuses what the page says is wrong, naming the path.
        Expect(1, new JsonObject { ["board"] = "rpi9" }, "leds.board: error: unknown board 'rpi9'");
        Expect(1, new JsonObject { ["board"] = "rpi4b", ["status"] = "blink" }, "leds.status: error: 'blink' is not an LED");
        Expect(1, new JsonObject { ["board"] = "rpi3b", ["status"] = "pwr" }, "leds.status: error: board rpi3b has no PWR LED");
        // Without "status" each board gets one it has (ACT, else PWR, else none): the loop above; naming ACT on a Pi 5 is refused.
        Expect(1, new JsonObject { ["board"] = "rpi5", ["status"] = "act" }, "leds.status: error: board rpi5 has no ACT LED");
        Expect(1, new JsonObject { ["board"] = "rpi4b", ["peers"] = new JsonObject { ["hq"] = new JsonObject { ["gpio"] = 28 } } }, "leds.peers.hq.gpio: error: GPIO 28 is not on the rpi4b header");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));

        void Expect(int exit, JsonObject leds, string what)
        {
            var (code, output) = Check(leds);
            if (code != exit || (exit == 1 && !output.Contains(what, StringComparison.Ordinal)))
                failures.Add($"{what}: routerd check exited {code}, expected {exit}:\n{leds.ToJsonString()}\n{output}");
        }
    }

    /// <summary>The code spans in the first sentence of the "* `FIELD`:" bullet in LEDS.md's Configuration section.</summary>
    private static string[] Forms(string field)
    {
        string page = Page;
        int section = page.IndexOf("## Configuration", StringComparison.Ordinal);
        var bullet = Regex.Match(page[section..], $@"^\* `{field}`:(.*?)(?=^\*|^\s*$)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(bullet.Success, $"no '* `{field}`:' bullet in docs/LEDS.md");
        string text = bullet.Groups[1].Value;
        var end = Regex.Match(text, @"\.\s");
        return CodeSpan().Matches(end.Success ? text[..end.Index] : text).Select(m => m.Groups[1].Value.Replace('\n', ' ')).ToArray();
    }

    /// <summary>A router.json with one interface whose peers carry the names the section uses, run through `routerd check`.</summary>
    private (int Exit, string Output) Check(JsonObject leds)
    {
        var names = (leds["peers"] as JsonObject)?.Select(p => p.Key).ToList() ?? [];
        string[] keys = [ConfigFixture.PeerKeyA, ConfigFixture.PeerKeyB, ConfigFixture.PeerKeyC, "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="];
        var peers = new JsonArray();
        for (int i = 0; i < names.Count; i++)
            peers.Add(new JsonObject { ["name"] = names[i], ["publicKey"] = keys[i], ["allowedIps"] = new JsonArray($"10.{i}.0.0/16") });
        var config = new JsonObject
        {
            ["interfaces"] = new JsonObject { ["wg0"] = new JsonObject { ["privateKeyFile"] = _f.KeyPath, ["peers"] = peers } },
            ["leds"] = leds.DeepClone(),
        };
        string path = _f.Dir.Write("router.json", config.ToJsonString());
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "routerd.dll"));
        psi.ArgumentList.Add("check");
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "routerd check did not finish");
        return (p.ExitCode, output + stderr.Result);
    }

    private static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Router.sln")))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new DirectoryNotFoundException("Router.sln");
    }

    [GeneratedRegex("```json\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();
}
