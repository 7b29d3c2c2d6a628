using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Router.Daemon.Tests;

/// <summary>
/// What the docs tell an admin to type: every key recipe in README.md and docs/*.md leaves its files 0600 (RUNNING.md's
/// `routerd genkey | tee KEY` made a 0644 key), and `routerd --help` and docs/RUNNING.md name every ROUTERD_* variable
/// the source reads.
/// </summary>
public sealed partial class DocumentedRecipesTests
{
    [Fact]
    public void EveryKeyRecipeInTheDocsLeavesTheKeyFilesOwnerOnly()
    {
        var recipes = Docs().SelectMany(d => Recipes(File.ReadAllText(d)).Select(r => (Doc: Path.GetFileName(d), Recipe: r))).ToList();
        Assert.True(recipes.Count >= 2, $"expected the CONFIG.md and RUNNING.md recipes, found {recipes.Count}");
        foreach (var (doc, recipe) in recipes)
        {
            string dir = Directory.CreateTempSubdirectory("recipe-").FullName;
            try
            {
                string script = recipe.Replace("/etc/router/", dir + "/");
                string dll = Path.Combine(AppContext.BaseDirectory, "routerd.dll");
                // umask 022 as a login shell has it: the recipe itself must make the files private.
                var psi = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add($"umask 022; routerd() {{ dotnet '{dll}' \"$@\"; }}; {script}");
                using var p = Process.Start(psi)!;
                string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
                Assert.True(p.WaitForExit(60_000), $"{doc}: recipe did not finish");
                Assert.True(p.ExitCode == 0, $"{doc}: `{recipe}` failed: {output}");
                string[] files = Directory.GetFiles(dir);
                Assert.NotEmpty(files);
                foreach (string file in files)
                {
                    UnixFileMode mode = File.GetUnixFileMode(file);
                    Assert.True(mode == (UnixFileMode.UserRead | UnixFileMode.UserWrite),
                        $"{doc}: `{recipe}` left {Path.GetFileName(file)} with mode {Convert.ToString((int)mode, 8)}");
                    Assert.Equal(45, File.ReadAllText(file).Length); // 44 characters of base64 and a newline
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public void HelpAndRunningMdNameEveryEnvironmentVariable()
    {
        string root = RepoRoot();
        var names = Directory.GetFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => EnvName().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Where(n => n != "ROUTERD_BACKGROUND_CHILD") // set by routerd for its own background child
            .ToHashSet();
        Assert.Contains("ROUTERD_PEER_LIMIT", names);
        string help = Routerd("--help");
        string running = File.ReadAllText(Path.Combine(root, "docs", "RUNNING.md"));
        foreach (string name in names)
        {
            Assert.True(help.Contains(name, StringComparison.Ordinal), $"routerd --help does not name {name}");
            Assert.True(running.Contains($"`{name}`", StringComparison.Ordinal), $"docs/RUNNING.md does not name {name}");
        }
    }

    [Fact]
    public void TheManPageRendersCleanlyAndNamesEveryVerbAndVariable()
    {
        string page = Path.Combine(RepoRoot(), "packaging", "man", "routerd.8");
        var psi = new ProcessStartInfo("groff") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-man", "-ww", "-Tutf8", page })
            psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C.UTF-8";
        using var p = Process.Start(psi)!;
        string text = Regex.Replace(p.StandardOutput.ReadToEnd(), ".\x08", ""); // overstrike bold and underline
        string warnings = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000));
        Assert.Equal(0, p.ExitCode);
        Assert.Equal("", warnings.Trim());
        foreach (string verb in new[] { "run", "check", "apply", "confirm", "show", "peer", "genkey", "pubkey", "genpsk", "import", "selftest", "bench", "help" })
            Assert.Matches($@"\b{verb}\b", text);
        foreach (string name in new[] { "ROUTERD_CONFIG", "ROUTERD_CONTROL_SOCKET", "ROUTERD_STATUS_SOCKET", "ROUTERD_SEED", "ROUTERD_PROBE_TIMEOUT",
            "ROUTERD_PEER_LIMIT", "ROUTERD_UDP_OFFLOAD", "ROUTERD_TUN_OFFLOAD", "ROUTERD_PIPELINE_DROP", "ROUTERD_PIPELINE_BYTES",
            "ROUTERD_PIPELINE_BATCHES", "ROUTERD_MEMORY_LOG", "LOG_LEVEL" })
            Assert.Contains(name, text);
    }

    /// <summary>Fenced sh blocks and inline code spans that write a key with genkey or genpsk.</summary>
    private static IEnumerable<string> Recipes(string markdown)
    {
        foreach (Match m in FencedSh().Matches(markdown))
            if (m.Groups[1].Value.Contains("routerd genkey", StringComparison.Ordinal))
                yield return m.Groups[1].Value;
        foreach (Match m in InlineCode().Matches(Regex.Replace(FencedSh().Replace(markdown, ""), "```.*?```", "", RegexOptions.Singleline)))
        {
            string code = m.Groups[1].Value.Replace('\n', ' ');
            if (code.Contains("routerd gen", StringComparison.Ordinal) && (code.Contains("tee ", StringComparison.Ordinal) || code.Contains('>')))
                yield return code;
        }
    }

    private static IEnumerable<string> Docs()
    {
        string root = RepoRoot();
        return Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Append(Path.Combine(root, "README.md"));
    }

    private static string Routerd(string args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "routerd.dll"));
        psi.ArgumentList.Add(args);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000));
        return output;
    }

    private static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Router.sln")))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new DirectoryNotFoundException("Router.sln not found above the test binaries");
    }

    [GeneratedRegex(@"```sh\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex FencedSh();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"""(ROUTERD_[A-Z_]+)""")]
    private static partial Regex EnvName();
}
