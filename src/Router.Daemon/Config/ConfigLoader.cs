using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Router.Daemon.Config;

/// <summary>The outcome of loading: a configuration only if there was no error, and every problem found.</summary>
internal sealed record ConfigLoadResult(RouterConfig? Config, IReadOnlyList<ConfigProblem> Problems)
{
    public bool HasErrors => Problems.Any(p => p.IsError);

    /// <summary>One line for systemd's STATUS= and the journal: how many errors and the first of them.</summary>
    public string Summary(string source)
    {
        var errors = Problems.Where(p => p.IsError).ToList();
        if (errors.Count == 0)
            return $"{source}: valid";
        return $"{source}: {errors.Count} error{(errors.Count == 1 ? "" : "s")}, first: {errors[0]}";
    }
}

/// <summary>
/// Reads router.json with Microsoft.Extensions.Configuration.Json and validates it into a <see cref="RouterConfig"/>.
/// The bytes are read once and handed to the provider as a stream, never through the provider's own file watching:
/// on reload that provider turns a half-written, malformed or missing file into an EMPTY configuration. Callers that
/// watch the file call <see cref="Load"/> again and swap in the result only when it has no errors.
/// </summary>
internal static class ConfigLoader
{
    /// <summary>Larger than any real configuration; guards against pointing check at the wrong file.</summary>
    public const int MaxFileSize = 1 << 20;

    public const string DefaultPath = "/etc/router/router.json";

    public static ConfigLoadResult Load(string path, IKeyFileSource? keyFiles = null)
    {
        // A FIFO, a device or a huge file is refused here, without waiting on it (RegularFile).
        var file = RegularFile.Read(path, MaxFileSize);
        return file.Ok ? Parse(file.Bytes, keyFiles) : Failed(file.Error!);
    }

    /// <summary>Validates configuration text (from a file, stdin for 'apply', or a seed).</summary>
    public static ConfigLoadResult Parse(ReadOnlyMemory<byte> json, IKeyFileSource? keyFiles = null)
    {
        if (json.Length > MaxFileSize)
            return Failed($"the configuration is {json.Length} bytes; expected under {MaxFileSize} bytes");
        if (json.Span.Trim(" \t\r\n"u8).IsEmpty)
            return Failed("the configuration is empty; expected a JSON object { \"interfaces\": { ... } }");

        var problems = new List<ConfigProblem>();
        // Duplicates first: the provider throws on some of them with a message that names no path.
        DuplicateFields.Scan(json, problems);

        IConfigurationRoot configuration;
        try
        {
            using var stream = new MemoryStream(json.ToArray(), writable: false);
            configuration = new ConfigurationBuilder().AddJsonStream(stream).Build();
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            if (problems.Count > 0)
                return new ConfigLoadResult(null, problems);
            return Failed($"not valid JSON: {JsonSyntaxError(e.InnerException as JsonException ?? e as JsonException, e.Message)}");
        }

        RouterConfig? config = ConfigValidator.Validate(configuration, keyFiles ?? KeyFile.System, problems);
        if (config is not null && problems.Any(p => p.IsError))
        {
            // An error found before validation (a duplicate field) still refuses the whole file.
            config.Dispose();
            config = null;
        }
        return new ConfigLoadResult(config, problems);
    }

    private static ConfigLoadResult Failed(string message) => new(null, [ConfigProblem.Error("", message)]);

    /// <summary>
    /// The reader's message with its position as an editor counts (line 1, column 1); the framework appends a
    /// zero-based "LineNumber: 0 | BytePositionInLine: 32." that reads as wrong to anyone who opens the file.
    /// </summary>
    private static string JsonSyntaxError(JsonException? e, string fallback)
    {
        if (e is null)
            return fallback;
        string message = e.Message;
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0)
            message = message[..cut];
        return e.LineNumber is long line && e.BytePositionInLine is long column
            ? $"line {line + 1}, column {column + 1}: {message}"
            : message;
    }
}
