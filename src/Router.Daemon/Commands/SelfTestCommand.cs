using System.Runtime.Intrinsics;
using Router.Crypto;

namespace Router.Daemon.Commands;

/// <summary><c>routerd selftest</c>: known-answer tests of every primitive on the path this CPU selects.</summary>
internal static class SelfTestCommand
{
    public static int Run(TextWriter output)
    {
        output.WriteLine($"cpu: Vector128 {Accel(Vector128.IsHardwareAccelerated)}, Vector256 {Accel(Vector256.IsHardwareAccelerated)}, Vector512 {Accel(Vector512.IsHardwareAccelerated)}");
        return SelfTest.Run(output) ? 0 : 1;
    }

    private static string Accel(bool yes) => yes ? "yes" : "no";
}
