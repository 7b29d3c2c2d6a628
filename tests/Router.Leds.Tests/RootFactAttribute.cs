namespace Router.Leds.Tests;

/// <summary>A fact that needs root and unshare(1); reported as skipped, with the reason, anywhere else.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "needs Linux mount namespaces";
        }
        else if (!Environment.IsPrivilegedProcess)
        {
            Skip = "needs root: mounts a tmpfs over /sys/class in a private mount namespace";
        }
        else if (FindOnPath("unshare") is null)
        {
            Skip = "needs unshare(1) from util-linux";
        }
    }

    internal static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);
}
