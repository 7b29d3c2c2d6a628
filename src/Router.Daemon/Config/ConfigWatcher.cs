namespace Router.Daemon.Config;

/// <summary>
/// Calls back when the configuration file may have changed: created, written, or renamed into place (which is how
/// editors and <see cref="AtomicFile"/> replace it). Watches the directory, not the file, because a rename replaces
/// the inode a file watch would follow. Bursts (an editor's write, chmod and rename) collapse into one callback after
/// a quiet period. The callback only says "look again": it re-reads and validates through ConfigLoader, never
/// trusting a provider's reload.
/// </summary>
internal sealed class ConfigWatcher : IDisposable
{
    public static readonly TimeSpan DefaultQuietPeriod = TimeSpan.FromMilliseconds(500);

    private readonly FileSystemWatcher _watcher;
    private readonly Timer _debounce;
    private readonly TimeSpan _quiet;

    public ConfigWatcher(string path, Action changed, TimeSpan? quietPeriod = null)
    {
        string full = Path.GetFullPath(path);
        _quiet = quietPeriod ?? DefaultQuietPeriod;
        _debounce = new Timer(_ => changed(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        _watcher.Changed += (_, _) => Poke();
        _watcher.Created += (_, _) => Poke();
        _watcher.Deleted += (_, _) => Poke();
        _watcher.Renamed += (_, _) => Poke();
        _watcher.EnableRaisingEvents = true;
    }

    private void Poke() => _debounce.Change(_quiet, Timeout.InfiniteTimeSpan);

    public void Dispose()
    {
        _watcher.Dispose();
        _debounce.Dispose();
    }
}
