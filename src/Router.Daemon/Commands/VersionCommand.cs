using System.Reflection;
using System.Runtime.InteropServices;

namespace Router.Daemon.Commands;

/// <summary><c>routerd --version</c>: the version, the platform and how the binary was built.</summary>
internal static class VersionCommand
{
    public static string Version
        => typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
           ?? "0.0.0";

    public static int Run(TextWriter output)
    {
        // PublishAot pins IsDynamicCodeSupported to false even under the JIT, so look for the IL assembly instead.
        string build = File.Exists(Path.Combine(AppContext.BaseDirectory, "routerd.dll")) ? "JIT" : "Native AOT";
        output.WriteLine($"routerd {Version}");
        output.WriteLine($"{RuntimeInformation.RuntimeIdentifier} {RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}, {build}");
        return 0;
    }
}
