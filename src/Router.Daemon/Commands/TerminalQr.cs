using System.Text;
using QRCoder;

namespace Router.Daemon.Commands;

/// <summary>
/// A QR code drawn with text, for a phone to scan off an SSH session's screen (the WireGuard apps import a wg-quick
/// file from one). QRCoder builds the module matrix (byte mode, error correction M: a wg-quick file of ~300 bytes
/// is version 10 or so); this draws two module rows per line with half blocks. The colours are set explicitly,
/// bright white on black, so the code reads the same on a dark or a light terminal: light modules are the drawn
/// blocks, dark modules the black background, with the 4-module light quiet zone that scanners need.
/// </summary>
internal static class TerminalQr
{
    private const string Colours = "\u001b[40;97m";
    private const string Reset = "\u001b[0m";

    /// <summary>The drawing, or null when the text is more than a QR code holds at level M (2,331 bytes: a peer with hundreds of prefixes).</summary>
    public static string? Render(string text)
    {
        using var generator = new QRCodeGenerator();
        QRCodeData data;
        try
        {
            data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
        }
        catch (QRCoder.Exceptions.DataTooLongException)
        {
            return null;
        }
        using var owned = data;
        var matrix = data.ModuleMatrix; // quiet zone included
        int size = matrix.Count;
        var sb = new StringBuilder();
        for (int y = 0; y < size; y += 2)
        {
            sb.Append(Colours);
            for (int x = 0; x < size; x++)
            {
                bool upperLight = !matrix[y][x];
                bool lowerLight = y + 1 >= size || !matrix[y + 1][x];
                sb.Append((upperLight, lowerLight) switch
                {
                    (true, true) => '\u2588',  // full block
                    (true, false) => '\u2580', // upper half
                    (false, true) => '\u2584', // lower half
                    _ => ' ',
                });
            }
            sb.Append(Reset).Append('\n');
        }
        return sb.ToString();
    }
}
