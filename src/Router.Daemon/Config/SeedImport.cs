using System.Security.Cryptography;

namespace Router.Daemon.Config;

/// <summary>What happened to the seed on the boot partition.</summary>
internal enum SeedImportOutcome
{
    /// <summary>No seed file: nothing to do.</summary>
    NoSeed,
    /// <summary>The seed is the one imported before (or equals the canonical file): nothing to do.</summary>
    Unchanged,
    /// <summary>A new, valid seed became the canonical configuration.</summary>
    Imported,
    /// <summary>A new seed failed validation; the canonical configuration was kept. Reported again at every start until fixed.</summary>
    Invalid,
}

internal sealed record SeedImportResult(SeedImportOutcome Outcome, IReadOnlyList<ConfigProblem> Problems);

/// <summary>
/// The seed is the router.json a person edits on the FAT boot partition from a laptop. At start, a seed whose hash
/// differs from the last imported one is validated and, if valid, written to the canonical store; its hash is then
/// recorded so an unchanged seed never overwrites later changes made over SSH. An invalid seed changes nothing.
/// </summary>
internal sealed class SeedImport(string seedPath, ConfigStore store, string markerPath, IKeyFileSource? keyFiles = null)
{
    public const string DefaultSeedPath = "/boot/firmware/router.json";
    public const string DefaultMarkerPath = "/etc/router/.seed-imported";

    public SeedImportResult Run()
    {
        var file = RegularFile.Read(seedPath, ConfigLoader.MaxFileSize);
        if (file.Missing)
            return new(SeedImportOutcome.NoSeed, []);
        if (!file.Ok)
            return new(SeedImportOutcome.Invalid, [ConfigProblem.Error("", $"seed {file.Error}")]);
        byte[] seed = file.Bytes!;

        string hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(seed));
        if (ReadMarker() == hash)
            return new(SeedImportOutcome.Unchanged, []);

        var result = ConfigLoader.Parse(seed, keyFiles);
        using var config = result.Config;
        if (result.HasErrors)
            return new(SeedImportOutcome.Invalid, result.Problems);

        byte[]? current = store.ReadCurrent();
        bool same = current is not null && current.AsSpan().SequenceEqual(seed);
        if (!same)
            store.Write(seed);
        AtomicFile.Write(markerPath, System.Text.Encoding.ASCII.GetBytes(hash + "\n"));
        return new(same ? SeedImportOutcome.Unchanged : SeedImportOutcome.Imported, result.Problems);
    }

    // Anything but a small regular file reads as "no marker": the seed is imported again, which is harmless.
    private string? ReadMarker()
        => RegularFile.Read(markerPath, MarkerMaxSize).Bytes is byte[] marker ? System.Text.Encoding.ASCII.GetString(marker).Trim() : null;

    private const int MarkerMaxSize = 256;
}
