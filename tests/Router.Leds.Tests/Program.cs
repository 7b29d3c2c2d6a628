namespace Router.Leds.Tests;

/// <summary>
/// Entry point for the test assembly run as a helper process (dotnet exec Router.Leds.Tests.dll SCENARIO).
/// The test runner never calls it.
/// </summary>
internal static class Program
{
    public static int Main(string[] args) => args switch
    {
        [BoardLedScenario.Name] => BoardLedScenario.Run(Console.Out),
        _ => Usage(),
    };

    private static int Usage()
    {
        Console.Error.WriteLine($"usage: dotnet exec Router.Leds.Tests.dll {BoardLedScenario.Name}");
        return 2;
    }
}
