namespace Router.Daemon.Config;

/// <summary>How bad a problem is: an error keeps the configuration from being used, a warning does not.</summary>
internal enum ProblemSeverity
{
    Warning,
    Error,
}

/// <summary>
/// One thing wrong with a configuration, located by its JSON path (<c>interfaces.wg0.peers[1].publicKey</c>).
/// Messages say what is wrong and what was expected, and never repeat a secret.
/// </summary>
internal sealed record ConfigProblem(ProblemSeverity Severity, string Path, string Message)
{
    public static ConfigProblem Error(string path, string message) => new(ProblemSeverity.Error, path, message);

    public static ConfigProblem Warning(string path, string message) => new(ProblemSeverity.Warning, path, message);

    public bool IsError => Severity == ProblemSeverity.Error;

    /// <summary>The line <c>routerd check</c> prints: <c>PATH: error: MESSAGE</c>.</summary>
    public override string ToString()
        => $"{(Path.Length == 0 ? "(file)" : Path)}: {(IsError ? "error" : "warning")}: {Message}";
}
