namespace Router.Daemon.Config;

/// <summary>The result of offering a new configuration to the running one.</summary>
/// <param name="Accepted">False when the new file had errors: the running configuration is untouched.</param>
/// <param name="Diff">What to apply to the engine (null when rejected).</param>
/// <param name="Replaced">The configuration that was running before; dispose it once the engine no longer uses its keys.</param>
internal sealed record ReloadOutcome(bool Accepted, ConfigDiff? Diff, RouterConfig? Replaced, IReadOnlyList<ConfigProblem> Problems);

/// <summary>
/// Holds the configuration in force and swaps in a new one only when it validated: the guard against the provider's
/// reload that turns a half-written file into an empty configuration. A rejected file leaves everything as it was.
/// Thread-safe: reloads from the file watcher, SIGHUP and 'apply' may race; each swap is atomic and its diff is
/// computed against exactly the configuration it replaces.
/// </summary>
internal sealed class RunningConfig
{
    private readonly Lock _lock = new();
    private RouterConfig? _current;

    /// <summary>The configuration in force, or null while waiting for a first valid file.</summary>
    public RouterConfig? Current
    {
        get
        {
            lock (_lock)
                return _current;
        }
    }

    /// <summary>Offers a loaded configuration; on success it becomes current and the diff says what the engine must change.</summary>
    public ReloadOutcome Offer(ConfigLoadResult loaded)
    {
        if (loaded.Config is null || loaded.HasErrors)
            return new ReloadOutcome(false, null, null, loaded.Problems);
        lock (_lock)
        {
            var diff = ConfigDiff.Compute(_current, loaded.Config);
            var replaced = _current;
            _current = loaded.Config;
            return new ReloadOutcome(true, diff, replaced, loaded.Problems);
        }
    }
}
