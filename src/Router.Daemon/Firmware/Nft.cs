using System.Diagnostics;

namespace Router.Daemon.Firmware;

/// <summary>
/// One nft(8) script through <c>nft -f -</c>: the whole script is one kernel transaction, applied entirely or not at
/// all. Bounded in time: a hung nft never stalls an apply.
/// </summary>
internal static class Nft
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Runs the script; the message is nft's output (its error on failure).</summary>
    public static (bool Ok, string Message) Run(string script)
    {
        try
        {
            var psi = new ProcessStartInfo("nft", "-f -")
            {
                RedirectStandardInput = true,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var p = Process.Start(psi)!;
            p.StandardInput.Write(script);
            p.StandardInput.Close();
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(Timeout))
            {
                p.Kill();
                return (false, "nft did not finish in time");
            }
            return (p.ExitCode == 0, err.Result.Trim() + output.Result.Trim());
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return (false, $"cannot run nft: {e.Message}");
        }
    }
}
