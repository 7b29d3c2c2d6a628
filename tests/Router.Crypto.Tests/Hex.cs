namespace Router.Crypto.Tests;

/// <summary>Hex helpers for vectors copied from RFC text (spaces, colons and line breaks are ignored).</summary>
internal static class Hex
{
    public static byte[] Bytes(string hex)
    {
        var clean = new System.Text.StringBuilder(hex.Length);
        foreach (char c in hex)
        {
            if (Uri.IsHexDigit(c))
            {
                clean.Append(c);
            }
        }

        return Convert.FromHexString(clean.ToString());
    }

    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static byte[] Sequence(int length, int start = 0)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(start + i);
        }

        return bytes;
    }
}
