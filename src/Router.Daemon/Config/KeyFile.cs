using System.Security.Cryptography;

namespace Router.Daemon.Config;

/// <summary>What reading a key file gave: the key, or an error; and perhaps a warning about its permissions.</summary>
internal sealed record KeyFileResult(SecretKey? Key, string? Error, string? Warning);

/// <summary>Reads the 0600 files that hold private and pre-shared keys; a seam so validation tests need no files.</summary>
internal interface IKeyFileSource
{
    KeyFileResult Read(string path);
}

/// <summary>
/// Key files as wg(8) reads them: one base64 key of 32 bytes, surrounding whitespace ignored. A file that group or
/// others may read is accepted with a warning (as wg warns), except on filesystems without permissions (FAT).
/// </summary>
internal sealed class KeyFile : IKeyFileSource
{
    private const int MaxFileSize = 256;

    private const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                                               | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly Func<string, bool> _hasUnixPermissions;

    /// <param name="hasUnixPermissions">Tells FAT-like mounts apart; tests pass their own.</param>
    public KeyFile(Func<string, bool>? hasUnixPermissions = null)
        => _hasUnixPermissions = hasUnixPermissions ?? FileSystemKind.HasUnixPermissions;

    public static readonly KeyFile System = new();

    public KeyFileResult Read(string path)
    {
        var file = RegularFile.Read(path, MaxFileSize, pinned: true);
        if (!file.Ok)
        {
            return new(null, file.Missing
                ? $"key file '{path}' does not exist"
                : $"key file {file.Error} (expected one base64 key as 'wg genkey' writes)", null);
        }
        byte[] content = file.Bytes!;

        try
        {
            Span<byte> key = stackalloc byte[SecretKey.Size];
            if (!KeyText.TryDecodeUtf8(Trim(content), key))
                return new(null, $"'{path}' does not hold a key: expected 44 characters of base64 (32 bytes), as 'wg genkey' or 'wg genpsk' write", null);
            var secret = new SecretKey(key);
            CryptographicOperations.ZeroMemory(key);
            return new(secret, null, PermissionWarning(path, file.Mode));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
    }

    private string? PermissionWarning(string path, UnixFileMode mode)
    {
        if ((mode & GroupOrOthers) == 0 || !_hasUnixPermissions(path))
            return null;
        return $"key file '{path}' is accessible by group or others (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}); run 'chmod 0600 {path}'";
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> text)
    {
        int start = 0, end = text.Length;
        while (start < end && IsSpace(text[start]))
            start++;
        while (end > start && IsSpace(text[end - 1]))
            end--;
        return text[start..end];
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r';

    /// <summary>Writes a key file the way 'umask 077; wg genkey > FILE' leaves it: mode 0600 from the start, no window.</summary>
    public static void Write(string path, ReadOnlySpan<byte> key)
    {
        Span<byte> line = stackalloc byte[PublicKey.Base64Length + 1];
        KeyText.EncodeLine(key, line);
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            };
            using var stream = new FileStream(path, options);
            stream.Write(line);
            stream.Flush(flushToDisk: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(line);
        }
    }
}
