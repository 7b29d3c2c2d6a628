namespace Router.Daemon.Config;

/// <summary>
/// The canonical configuration file (/etc/router/router.json) and the one before it (router.json.prev), which a
/// rollback restores. Every replacement is atomic (<see cref="AtomicFile"/>). The store does not validate: callers
/// write only what <see cref="ConfigLoader.Parse"/> accepted.
/// </summary>
internal sealed class ConfigStore(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public string PreviousPath => Path + ".prev";

    public bool Exists => File.Exists(Path);

    public ConfigLoadResult Load(IKeyFileSource? keyFiles = null) => ConfigLoader.Load(Path, keyFiles);

    /// <summary>The current file's bytes; null when it is missing or is not a regular file under the size limit.</summary>
    public byte[]? ReadCurrent() => RegularFile.Read(Path, ConfigLoader.MaxFileSize).Bytes;

    /// <summary>Writes new content; the content it replaces becomes the previous file. Throws on I/O failure, leaving the current file as it was.</summary>
    /// <param name="beforeRename">Test seam passed to <see cref="AtomicFile.Write"/>.</param>
    public void Write(ReadOnlySpan<byte> json, Action? beforeRename = null)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        byte[]? current = ReadCurrent();
        // Keep the old one first: a crash between the two writes leaves two valid files, never none. Written even
        // when the bytes are equal, so .prev is always the file that was in force just before this write.
        if (current is not null)
            AtomicFile.Write(PreviousPath, current);
        AtomicFile.Write(Path, json, beforeRename: beforeRename);
    }

    /// <summary>The mark of an apply waiting for 'routerd confirm' (router.json.pending): it outlives the daemon.</summary>
    public string PendingPath => Path + ".pending";

    /// <summary>
    /// Marks the current file as applied but not confirmed, with when it arrived, the end of its window and the
    /// SHA-256 of its bytes: a daemon that starts and finds the mark rolls back (if the file is still that one).
    /// </summary>
    public void MarkPending(DateTimeOffset at, DateTimeOffset until, ReadOnlySpan<byte> json)
        => AtomicFile.Write(PendingPath, System.Text.Encoding.ASCII.GetBytes(
            $"{at.ToUnixTimeMilliseconds()} {until.ToUnixTimeMilliseconds()} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(json))}\n"));

    public void ClearPending()
    {
        try
        {
            File.Delete(PendingPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The pending mark: when, until, and whether the current file is still the one it marked; null without (or with a malformed) mark.</summary>
    public (DateTimeOffset At, DateTimeOffset Until, bool SameFile)? ReadPending()
    {
        if (RegularFile.Read(PendingPath, 4096).Bytes is not byte[] mark)
            return null;
        string[] f = System.Text.Encoding.ASCII.GetString(mark).Trim().Split(' ');
        if (f.Length != 3 || !long.TryParse(f[0], out long at) || !long.TryParse(f[1], out long until))
            return null;
        bool same = ReadCurrent() is byte[] current && Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(current)) == f[2];
        return (DateTimeOffset.FromUnixTimeMilliseconds(at), DateTimeOffset.FromUnixTimeMilliseconds(until), same);
    }

    /// <summary>Puts the previous file back in place (rollback). False if there is none.</summary>
    public bool RestorePrevious()
    {
        if (RegularFile.Read(PreviousPath, ConfigLoader.MaxFileSize).Bytes is not byte[] previous)
            return false;
        AtomicFile.Write(Path, previous);
        return true;
    }
}
