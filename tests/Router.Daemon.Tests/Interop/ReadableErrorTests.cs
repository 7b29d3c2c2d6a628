using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// The published (Native AOT) routerd prints the framework's messages as text: built with resource keys it printed
/// "not valid JSON: ExpectedStartOfPropertyNotFound, , LineNumber: 0 | BytePositionInLine: 32." for a stray comma.
/// Positions are counted as an editor counts them.
/// </summary>
[Trait("Category", "Interop")]
public sealed partial class ReadableErrorTests
{
    [Theory]
    [InlineData("{\"interfaces\": { \"wg0\": {,} } }", "line 1, column 26", "invalid start of a property name")]
    [InlineData("{\n  \"interfaces\": {\n    \"wg0\": { \"listenPort\": 51820 \n", "line 4, column 1", "")]
    [InlineData("\u00e7{}", "line 1, column 1", "invalid start of a value")]
    public void MalformedJsonIsReportedInWords(string json, string position, string words)
    {
        string file = Path.Combine(Path.GetTempPath(), $"readable-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(file, json);
            var psi = new ProcessStartInfo(Implementations.Routerd) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("check");
            psi.ArgumentList.Add(file);
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(30_000), "routerd check did not exit");
            Console.WriteLine(output.Trim());
            Assert.Equal(1, p.ExitCode);
            Assert.Contains("not valid JSON: " + position, output);
            Assert.Contains(words, output);
            Assert.DoesNotContain("LineNumber", output);
            Assert.False(ResourceKey().IsMatch(output), $"a resource key instead of a message: {output}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>What a resource key looks like in a message: PascalCase words glued together, e.g. IO_PathNotFound_Path.</summary>
    [GeneratedRegex(@"\b([A-Z][a-z]+){3,}(_[A-Za-z]+)*\b|\b[A-Z]{2,}_[A-Za-z]+")]
    private static partial Regex ResourceKey();
}
