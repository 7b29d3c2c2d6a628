using Router.Daemon.Interop;

namespace Router.Daemon.Config;

/// <summary>
/// Replaces a file so that a reader (or a power cut) sees either the old content or the new, never a mix: write a
/// temporary file in the same directory, fsync it, rename it over the target, fsync the directory so the rename
/// itself is on disk. Needs a filesystem where rename is atomic (ext4 root, not the FAT boot partition).
/// </summary>
internal static class AtomicFile
{
    public const UnixFileMode ReadableByAll = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <param name="beforeRename">Test seam: runs after the temporary file is durable, before it replaces the target.</param>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode = ReadableByAll, Action? beforeRename = null)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        string temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Random.Shared.Next():x8}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode };
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }
            beforeRename?.Invoke();
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        SyncDirectory(directory);
    }

    /// <summary>fsync(2) on a directory: makes renames and creations inside it durable.</summary>
    public static void SyncDirectory(string directory)
    {
        int fd = Libc.Open(directory, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0)
            throw new IOException($"cannot open directory '{directory}' to sync it (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        try
        {
            if (Libc.Fsync(fd) != 0)
                throw new IOException($"fsync of '{directory}' failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
