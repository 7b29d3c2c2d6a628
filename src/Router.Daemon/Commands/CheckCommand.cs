using Router.Daemon.Config;

namespace Router.Daemon.Commands;

/// <summary>
/// <c>routerd check [PATH]</c>: validates a configuration exactly as 'run' and 'apply' would, prints every problem as
/// "PATH: error|warning: MESSAGE", and exits 1 if any is an error (warnings alone exit 0). Applies nothing. Beyond
/// the file itself it warns when a peer's allowed IPs cover this machine's own addresses (<see cref="OwnAddressCheck"/>).
/// </summary>
internal static class CheckCommand
{
    /// <param name="hostAddresses">The machine's own addresses (tests); null reads this namespace's.</param>
    public static int Run(string? path, TextWriter output, IKeyFileSource? keyFiles = null, IReadOnlyList<HostAddress>? hostAddresses = null)
    {
        path ??= ConfigLoader.DefaultPath;
        var result = path == "-" ? ConfigLoader.Parse(ReadStdin(), keyFiles) : ConfigLoader.Load(path, keyFiles);
        using var config = result.Config;
        var problems = result.Problems.ToList();
        if (config is not null)
            problems.AddRange(OwnAddressCheck.Find(config, hostAddresses ?? OwnAddressCheck.Current()));
        foreach (var problem in problems)
            output.WriteLine(problem);
        int errors = problems.Count(p => p.IsError);
        int warnings = problems.Count - errors;
        string name = path == "-" ? "(stdin)" : path;
        output.WriteLine(errors == 0
            ? $"{name}: valid ({Plural(config!.Interfaces.Count, "interface")}, {Plural(config.Interfaces.Sum(i => i.Peers.Count), "peer")}, {Plural(warnings, "warning")})"
            : $"{name}: {Plural(errors, "error")}, {Plural(warnings, "warning")}");
        return errors == 0 ? 0 : 1;
    }

    // One byte past the limit is enough for ConfigLoader.Parse to refuse a stream that is too long.
    private static byte[] ReadStdin()
    {
        using var stdin = Console.OpenStandardInput();
        try
        {
            return BoundedStream.ReadAll(stdin, ConfigLoader.MaxFileSize);
        }
        catch (IOException)
        {
            return new byte[ConfigLoader.MaxFileSize + 1];
        }
    }

    private static string Plural(int n, string word) => n == 1 ? $"1 {word}" : $"{n} {word}s";
}
