using BenchmarkDotNet.Running;

// `--quick` runs Router.Crypto's QuickBench (the same code as `routerd bench`) for a fast look without BenchmarkDotNet.
if (args is ["--quick", ..])
{
    Router.Crypto.QuickBench.Run(Console.Out, TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1));
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point type, named so BenchmarkSwitcher can find this assembly.</summary>
public partial class Program;
