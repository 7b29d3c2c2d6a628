using System.Security.Cryptography;
using Router.Daemon.Config;

namespace Router.Daemon.Commands;

/// <summary>
/// <c>routerd import WG.conf [-o FILE]</c>: converts a wg-quick file to router.json. The keys it holds go to 0600
/// files beside the output (beside the input when the JSON goes to stdout); an existing key file is reused only if it
/// holds the same key, never overwritten. The result is validated as 'check' would; nothing is written on error.
/// </summary>
internal static class ImportCommand
{
    public static int Run(string confPath, string? outputPath, Stream stdout, TextWriter error, IKeyFileSource? keyFiles = null)
    {
        if (confPath.Length == 0)
        {
            error.WriteLine("routerd: import needs a wg-quick file, e.g. 'routerd import wg0.conf -o /etc/router/router.json'");
            return Program.UsageError;
        }
        // A wg-quick file holds a private key: pinned, and zeroed below like the rest of it.
        var file = RegularFile.Read(confPath, ConfigLoader.MaxFileSize, pinned: true);
        if (!file.Ok)
        {
            error.WriteLine($"routerd: {file.Error}");
            return 1;
        }
        byte[] conf = file.Bytes!;

        string interfaceName = Path.GetFileNameWithoutExtension(confPath);
        if (!ConfigValidator.IsInterfaceName(interfaceName))
        {
            error.WriteLine($"routerd: '{interfaceName}' (from the file name) is not a valid interface name; rename the file, e.g. wg0.conf");
            CryptographicOperations.ZeroMemory(conf);
            return 1;
        }
        string keyDirectory = Path.GetDirectoryName(Path.GetFullPath(outputPath ?? confPath))!;
        using var import = WgQuickImporter.Convert(conf, interfaceName, keyDirectory, Path.GetFileName(confPath));
        CryptographicOperations.ZeroMemory(conf);

        foreach (var p in import.Problems)
            error.WriteLine(p);
        if (import.HasErrors)
        {
            error.WriteLine("routerd: nothing written");
            return 1;
        }

        // Refuse before writing anything, so a failed import leaves no half set of files.
        foreach (var k in import.Keys)
        {
            if (File.Exists(k.Path) && !SameKey(k, keyFiles ?? KeyFile.System))
            {
                error.WriteLine($"routerd: '{k.Path}' exists and holds a different key; move it away first. Nothing written.");
                return 1;
            }
        }
        foreach (var k in import.Keys)
        {
            if (!File.Exists(k.Path))
                KeyFile.Write(k.Path, k.Key.Bytes);
        }

        if (outputPath is null)
        {
            stdout.Write(import.Json);
            stdout.Flush();
        }
        else
        {
            AtomicFile.Write(outputPath, import.Json);
        }

        var check = ConfigLoader.Parse(import.Json, keyFiles);
        using var config = check.Config;
        foreach (var p in check.Problems)
            error.WriteLine(p);
        if (check.HasErrors)
        {
            error.WriteLine($"routerd: imported, but the result does not pass 'routerd check': fix the problems above");
            return 1;
        }
        if (outputPath is not null)
            error.WriteLine($"routerd: wrote {outputPath} and {import.Keys.Count} key file(s); check it with 'routerd check {outputPath}'");
        return 0;
    }

    private static bool SameKey(ImportedKey key, IKeyFileSource keyFiles)
    {
        var existing = keyFiles.Read(key.Path);
        using var existingKey = existing.Key;
        return key.Key.ContentEquals(existingKey);
    }
}
