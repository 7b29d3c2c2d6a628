namespace Router.Daemon.Config;

/// <summary>
/// Calls back when the configuration file, or a key file it names, may have changed: created, written, chmod'ed,
/// removed, or renamed into place (which is how editors, `mv` and <see cref="AtomicFile"/> replace a file). Watches
/// directories, not files, because a rename replaces the inode a file watch would follow; a file whose directory does
/// not exist yet is watched through its nearest existing ancestor (the event that creates the next path component
/// calls back, and the reload that follows calls <see cref="Watch"/>, which then watches the new directory). Bursts
/// (an editor's write, chmod and rename) collapse into one callback after a quiet period. The callback only says
/// "look again": it re-reads and validates through ConfigLoader, never trusting a provider's reload.
/// </summary>
internal sealed class ConfigWatcher : IDisposable
{
    public static readonly TimeSpan DefaultQuietPeriod = TimeSpan.FromMilliseconds(500);

    private const NotifyFilters Filters = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite
                                          | NotifyFilters.Size | NotifyFilters.CreationTime | NotifyFilters.Attributes;

    private readonly Lock _lock = new();
    private readonly string _config;
    private readonly Timer _debounce;
    private readonly TimeSpan _quiet;
    private readonly Action<string> _changed;
    // Guarded by _lock: one watcher per directory, and the names in it that lead to a watched file.
    private readonly Dictionary<string, (FileSystemWatcher Watcher, HashSet<string> Names)> _directories = new(StringComparer.Ordinal);
    private string? _firstChanged; // the first path of the current burst, for the log line
    private bool _disposed;

    public ConfigWatcher(string path, Action changed, TimeSpan? quietPeriod = null)
        : this(path, _ => changed(), quietPeriod)
    {
    }

    /// <param name="changed">Called with the first path that changed in a burst.</param>
    public ConfigWatcher(string path, Action<string> changed, TimeSpan? quietPeriod = null)
    {
        _config = Path.GetFullPath(path);
        _quiet = quietPeriod ?? DefaultQuietPeriod;
        _changed = changed;
        _debounce = new Timer(_ => Fire(), null, Timeout.Infinite, Timeout.Infinite);
        Watch([], pokeOnNewDirectory: false);
    }

    /// <summary>The files watched besides the configuration file (its key files), replacing the previous set.</summary>
    public void Watch(IEnumerable<string> keyFiles) => Watch(keyFiles, pokeOnNewDirectory: true);

    private void Watch(IEnumerable<string> keyFiles, bool pokeOnNewDirectory)
    {
        var wanted = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (string file in keyFiles.Where(Path.IsPathRooted).Select(Path.GetFullPath).Prepend(_config))
        {
            if (WatchPoint(file) is (string directory, string name))
            {
                if (!wanted.TryGetValue(directory, out var names))
                    wanted[directory] = names = new HashSet<string>(StringComparer.Ordinal);
                names.Add(name);
            }
        }
        string? added = null;
        lock (_lock)
        {
            if (_disposed)
                return;
            foreach (string gone in _directories.Keys.Where(d => !wanted.ContainsKey(d)).ToList())
            {
                _directories[gone].Watcher.Dispose();
                _directories.Remove(gone);
            }
            foreach (var (directory, names) in wanted)
            {
                if (_directories.TryGetValue(directory, out var existing))
                {
                    existing.Names.Clear();
                    existing.Names.UnionWith(names);
                    continue;
                }
                if (Start(directory) is FileSystemWatcher watcher)
                {
                    _directories[directory] = (watcher, names);
                    added ??= Path.Combine(directory, names.First());
                }
            }
        }
        // The file may have appeared between the load that named it and this watch: look once more.
        if (added is not null && pokeOnNewDirectory)
            Poke(added);
    }

    /// <summary>The directory to watch for <paramref name="file"/> and the name in it that leads there.</summary>
    private static (string Directory, string Name)? WatchPoint(string file)
    {
        string child = file;
        string? directory = Path.GetDirectoryName(file);
        while (directory is not null && !Directory.Exists(directory))
        {
            child = directory;
            directory = Path.GetDirectoryName(directory);
        }
        return directory is null ? null : (directory, Path.GetFileName(child));
    }

    private FileSystemWatcher? Start(string directory)
    {
        var watcher = new FileSystemWatcher(directory) { NotifyFilter = Filters, IncludeSubdirectories = false };
        watcher.Changed += (_, e) => Seen(directory, e.Name);
        watcher.Created += (_, e) => Seen(directory, e.Name);
        watcher.Deleted += (_, e) => Seen(directory, e.Name);
        watcher.Renamed += (_, e) =>
        {
            Seen(directory, e.OldName);
            Seen(directory, e.Name);
        };
        // The directory itself went away (or inotify overflowed): forget it, so the next Watch starts over, and look again.
        watcher.Error += (_, _) =>
        {
            lock (_lock)
            {
                if (_directories.TryGetValue(directory, out var entry) && entry.Watcher == watcher)
                    _directories.Remove(directory);
            }
            watcher.Dispose();
            Poke(directory);
        };
        try
        {
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // E.g. the inotify watch limit: the file is still read at every reload and SIGHUP, just not noticed.
            Hosting.Log.Error($"cannot watch {directory}: {e.Message.TrimEnd('.')}; changes there need SIGHUP");
            watcher.Dispose();
            return null;
        }
    }

    private void Seen(string directory, string? name)
    {
        if (name is null)
            return;
        lock (_lock)
        {
            if (!_directories.TryGetValue(directory, out var entry) || !entry.Names.Contains(name))
                return;
        }
        Poke(Path.Combine(directory, name));
    }

    private void Poke(string path)
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _firstChanged ??= path;
            _debounce.Change(_quiet, Timeout.InfiniteTimeSpan);
        }
    }

    private void Fire()
    {
        string? path;
        lock (_lock)
        {
            path = _firstChanged;
            _firstChanged = null;
        }
        _changed(path ?? _config);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var (watcher, _) in _directories.Values)
                watcher.Dispose();
            _directories.Clear();
        }
        _debounce.Dispose();
    }
}
