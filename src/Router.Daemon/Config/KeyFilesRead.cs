namespace Router.Daemon.Config;

/// <summary>
/// Reads key files through another source and remembers every path asked for, found or not: the daemon watches
/// them, so a key file that is missing now and restored later, or rotated in place, is picked up without SIGHUP.
/// One instance per load (not thread-safe).
/// </summary>
internal sealed class KeyFilesRead(IKeyFileSource inner) : IKeyFileSource
{
    private readonly List<string> _paths = [];
    private readonly List<string> _failed = [];

    /// <summary>Every key file path read, in the order the configuration names them.</summary>
    public IReadOnlyList<string> Paths => _paths;

    /// <summary>The paths that gave no key (missing, unreadable, not a key).</summary>
    public IReadOnlyList<string> Failed => _failed;

    public KeyFileResult Read(string path)
    {
        _paths.Add(path);
        var result = inner.Read(path);
        if (result.Key is null)
            _failed.Add(path);
        return result;
    }
}
