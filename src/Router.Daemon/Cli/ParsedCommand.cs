namespace Router.Daemon.Cli;

/// <summary>A command line after parsing: the verb, its positional arguments and its options.</summary>
/// <param name="Verb">What to do.</param>
/// <param name="Interface">The interface name for the drop-in form.</param>
/// <param name="Foreground">-f/--foreground (or WG_PROCESS_FOREGROUND=1, applied by the caller).</param>
/// <param name="Arguments">Positional arguments after the verb.</param>
/// <param name="Options">Options given, by long name without dashes; flags map to an empty string.</param>
internal sealed record ParsedCommand(
    Verb Verb,
    string? Interface,
    bool Foreground,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Options)
{
    public bool Has(string option) => Options.ContainsKey(option);

    public string? Option(string option) => Options.TryGetValue(option, out var value) ? value : null;
}
