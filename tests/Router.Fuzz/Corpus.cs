namespace Router.Fuzz;

/// <summary>
/// The seeds kept in the repository under tests/fuzz/corpus/TARGET/ (copied beside the test assembly): valid
/// inputs the mutators start from. FUZZ_SAVE_CORPUS=1 lets a harness write the seeds it captures live.
/// </summary>
internal static class Corpus
{
    public static byte[][] Load(string target)
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "corpus", target);
        string[] files = Directory.Exists(directory) ? Directory.GetFiles(directory) : [];
        Array.Sort(files, StringComparer.Ordinal);
        byte[][] seeds = files.Select(File.ReadAllBytes).ToArray();
        Assert.True(seeds.Length > 0 || Environment.GetEnvironmentVariable("FUZZ_SAVE_CORPUS") == "1", $"no seeds in {directory}");
        return seeds;
    }

    /// <summary>Writes a captured seed into the source tree's corpus (only when FUZZ_SAVE_CORPUS=1).</summary>
    public static void Save(string target, string name, ReadOnlySpan<byte> seed)
    {
        if (Environment.GetEnvironmentVariable("FUZZ_SAVE_CORPUS") != "1")
            return;
        string? directory = Environment.GetEnvironmentVariable("FUZZ_CORPUS_DIR");
        if (string.IsNullOrEmpty(directory))
            return;
        Directory.CreateDirectory(Path.Combine(directory, target));
        File.WriteAllBytes(Path.Combine(directory, target, name), seed.ToArray());
    }
}
