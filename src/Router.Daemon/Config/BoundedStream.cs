namespace Router.Daemon.Config;

/// <summary>Reads a stream (stdin for 'check -' and 'apply') to its end, but never more than a limit plus one byte.</summary>
internal static class BoundedStream
{
    /// <returns>At most <paramref name="maxBytes"/> + 1 bytes: one past the limit tells the parser the input was too long.</returns>
    public static byte[] ReadAll(Stream stream, int maxBytes)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16384];
        int n;
        while (buffer.Length <= maxBytes && (n = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, maxBytes + 1 - buffer.Length))) > 0)
            buffer.Write(chunk, 0, n);
        return buffer.ToArray();
    }
}
