using System.Security.Cryptography;
using Router.Crypto;
using Router.Daemon.Config;

namespace Router.Daemon.Commands;

/// <summary>
/// <c>routerd genkey | pubkey | genpsk</c>: byte-for-byte what wg(8) prints, one base64 key and a newline, so the
/// two tools' keys mix freely. Keys stay in stack buffers that are zeroed before returning; the only copy that
/// leaves is the base64 written to stdout, as with wg.
/// </summary>
internal static class KeyCommands
{
    private const int LineLength = PublicKey.Base64Length + 1;

    /// <summary>A clamped X25519 private key, as 'wg genkey'.</summary>
    public static int GenKey(Stream output, TextWriter error)
    {
        WarnIfWorldReadable(error);
        Span<byte> key = stackalloc byte[X25519.KeySize];
        try
        {
            X25519.GeneratePrivateKey(key);
            WriteKey(output, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        return 0;
    }

    /// <summary>32 random bytes, unclamped, as 'wg genpsk'.</summary>
    public static int GenPsk(Stream output, TextWriter error)
    {
        WarnIfWorldReadable(error);
        Span<byte> key = stackalloc byte[SecretKey.Size];
        try
        {
            RandomNumberGenerator.Fill(key);
            WriteKey(output, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        return 0;
    }

    /// <summary>Reads a base64 private key on <paramref name="input"/> and prints its public key, as 'wg pubkey'.</summary>
    public static int PubKey(Stream input, Stream output, TextWriter error)
    {
        // Room for the key, a CRLF and some spaces; anything longer is not a key.
        Span<byte> text = stackalloc byte[128];
        Span<byte> privateKey = stackalloc byte[X25519.KeySize];
        Span<byte> publicKey = stackalloc byte[X25519.KeySize];
        try
        {
            int length = 0;
            int n;
            while (length < text.Length && (n = input.Read(text[length..])) > 0)
                length += n;
            if (length == text.Length || !KeyText.TryDecodeUtf8(text[..length].Trim(" \t\r\n"u8), privateKey))
            {
                error.WriteLine("routerd: Key is not the correct length or format");
                return 1;
            }
            X25519.DerivePublicKey(privateKey, publicKey);
            WriteKey(output, publicKey);
            return 0;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(text);
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    private static void WriteKey(Stream output, ReadOnlySpan<byte> key)
    {
        Span<byte> line = stackalloc byte[LineLength];
        try
        {
            KeyText.EncodeLine(key, line);
            output.Write(line);
            output.Flush();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(line);
        }
    }

    // As wg does: a secret about to land in a file others can read deserves a word on stderr.
    private static void WarnIfWorldReadable(TextWriter error)
    {
        try
        {
            // Only regular files count (wg checks S_ISREG): not pipes, terminals or /dev/null.
            const string stdout = "/proc/self/fd/1";
            string? target = new FileInfo(stdout).LinkTarget;
            if (target is not null && target.StartsWith('/') && !target.StartsWith("/dev/", StringComparison.Ordinal)
                && File.Exists(target) && (File.GetUnixFileMode(target) & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) != 0)
                error.WriteLine("Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
