using BenchmarkDotNet.Running;

// `--quick` runs Router.Crypto's QuickBench (the same code as `routerd bench`) for a fast look without BenchmarkDotNet.
if (args is ["--quick", ..])
{
    Router.Crypto.QuickBench.Run(Console.Out, TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1));
    return 0;
}

// `--paths [size]` times each ChaCha20 path and Poly1305 on their own (tuning aid).
if (args is ["--paths", ..])
{
    Router.Bench.PathTimer.Run(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1420, TimeSpan.FromMilliseconds(500));
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point type, named so BenchmarkSwitcher can find this assembly.</summary>
public partial class Program;
