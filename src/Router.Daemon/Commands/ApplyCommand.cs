using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Router.Daemon.Apply;

namespace Router.Daemon.Commands;

/// <summary>
/// <c>routerd apply [FILE|-] [--confirm SECONDS | --no-confirm] [--dry-run]</c> and <c>routerd confirm</c>: the client half. It hands the file
/// (or stdin, so 'ssh branch routerd apply &lt; router.json' works) to the running daemon over the control socket and
/// prints what the daemon says. The daemon validates, writes, applies and owns any rollback; if this SSH session is
/// cut halfway, the daemon still finishes and rolls back on its own.
/// </summary>
internal static class ApplyCommand
{
    /// <summary>How long to wait for the daemon's answer: its probe timeout plus room for applying.</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(120);

    /// <param name="sshConnection">$SSH_CONNECTION: over SSH the daemon checks whether the change cuts this session's path
    /// and then, unless <paramref name="confirmSeconds"/> or <paramref name="noConfirm"/> is given, applies it with a confirm window.</param>
    public static int Apply(string? file, string? confirmSeconds, TextWriter output, TextWriter error, string socketPath = ControlSocket.DefaultPath, Stream? stdin = null,
        bool dryRun = false, bool noConfirm = false, string? sshConnection = null, string? configPath = null)
    {
        int confirm = 0;
        if (confirmSeconds is not null && (!int.TryParse(confirmSeconds, NumberStyles.None, CultureInfo.InvariantCulture, out confirm) || confirm is < 1 or > 86400))
        {
            error.WriteLine($"routerd: --confirm takes a number of seconds from 1 to 86400, not '{confirmSeconds}'");
            return Program.UsageError;
        }
        if (confirmSeconds is not null && noConfirm)
        {
            error.WriteLine("routerd: --confirm and --no-confirm exclude each other");
            return Program.UsageError;
        }
        byte[] json;
        if (file is null or "-")
        {
            try
            {
                json = Config.BoundedStream.ReadAll(stdin ?? Console.OpenStandardInput(), Config.ConfigLoader.MaxFileSize);
            }
            catch (IOException e)
            {
                error.WriteLine($"routerd: cannot read the configuration from stdin: {e.Message}");
                return 1;
            }
        }
        else
        {
            var content = Config.RegularFile.Read(file, Config.ConfigLoader.MaxFileSize);
            if (!content.Ok)
            {
                error.WriteLine($"routerd: {content.Error}");
                return 1;
            }
            json = content.Bytes!;
        }
        var options = new ApplyOptions
        {
            ConfirmWithin = confirm > 0 ? TimeSpan.FromSeconds(confirm) : null,
            NoConfirm = noConfirm,
            DryRun = dryRun,
            Ssh = SshSession.Parse(sshConnection),
        };
        if (dryRun && configPath is not null)
            return Exchange([.. Encoding.ASCII.GetBytes(options.RequestLine()), .. json], output, error, socketPath,
                noDaemon: () => LocalDryRun(json, configPath, socketPath, options, output, error));
        return Send(json, options, output, error, socketPath);
    }

    /// <summary>
    /// Hands configuration bytes to the daemon (also for 'routerd peer'); <paramref name="confirm"/> 0 is no confirm
    /// window. Over SSH ($SSH_CONNECTION) the daemon checks the session's path as for 'apply'.
    /// </summary>
    public static int ApplyJson(byte[] json, int confirm, TextWriter output, TextWriter error, string socketPath)
        => Send(json, new ApplyOptions
        {
            ConfirmWithin = confirm > 0 ? TimeSpan.FromSeconds(confirm) : null,
            Ssh = SshSession.Parse(Environment.GetEnvironmentVariable("SSH_CONNECTION")),
        }, output, error, socketPath);

    /// <summary>
    /// --dry-run without a daemon (it is stopped, or this is a build host): the same validation and changes, compared
    /// with the file on disk instead of the running configuration, and said so. Reads key files; writes nothing.
    /// </summary>
    private static int LocalDryRun(byte[] json, string configPath, string socketPath, ApplyOptions options, TextWriter output, TextWriter error)
    {
        var loaded = Config.ConfigLoader.Parse(json);
        foreach (var p in loaded.Problems)
            error.WriteLine(p);
        if (loaded.HasErrors)
        {
            output.WriteLine($"refused: {loaded.Summary("the new configuration")}; nothing changed");
            return 1;
        }
        using var after = loaded.Config!;
        var disk = File.Exists(configPath) ? Config.ConfigLoader.Load(configPath) : null;
        using var before = disk is { HasErrors: false } ? disk.Config : null;
        error.WriteLine(before is not null
            ? $"note: no daemon at {socketPath}: compared with {configPath} on disk, not with a running configuration"
            : $"note: no daemon, and {configPath} is {(disk is null ? "missing" : "not valid")}: everything is new");
        var diff = Config.ConfigDiff.Compute(before, after);
        var changes = Config.ConfigDiffText.Lines(before, after, diff);
        if (options.Ssh is { } ssh && SshPath.Cut(ssh, before, after) is { } cut)
            error.WriteLine($"warning: this change cuts the path of this SSH session ({ssh}): {cut}");
        if (changes.Count > 0)
        {
            output.WriteLine("would change:");
            foreach (var c in changes)
                output.WriteLine(c);
        }
        string what = before is not null && diff.IsEmpty ? "no difference from the file on disk" : $"{changes.Count} change(s)";
        output.WriteLine($"dry run: the configuration is valid; {what}; nothing was written or applied");
        return 0;
    }

    /// <summary>Hands <paramref name="json"/> to the daemon's apply path (validated, atomic, probed, rolled back if need be) and prints its answer.</summary>
    public static int Send(byte[] json, ApplyOptions options, TextWriter output, TextWriter error, string socketPath = ControlSocket.DefaultPath)
        => Exchange([.. Encoding.ASCII.GetBytes(options.RequestLine()), .. json], output, error, socketPath);

    public static int Confirm(TextWriter output, TextWriter error, string socketPath = ControlSocket.DefaultPath)
        => Exchange("confirm\n"u8.ToArray(), output, error, socketPath);

    /// <param name="noDaemon">What to do when no daemon listens (a dry run compares with the file instead); null: say so and fail.</param>
    private static int Exchange(byte[] request, TextWriter output, TextWriter error, string socketPath, Func<int>? noDaemon = null)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException) when (noDaemon is not null)
        {
            return noDaemon();
        }
        catch (SocketException e)
        {
            error.WriteLine($"routerd: cannot reach the daemon at {socketPath} ({e.SocketErrorCode}); is 'routerd run' active?");
            return 1;
        }
        socket.Send(request);
        socket.Shutdown(SocketShutdown.Send);
        using var timeout = new CancellationTokenSource(AnswerTimeout);
        string reply;
        try
        {
            reply = Encoding.UTF8.GetString(ControlSocket.ReadAllAsync(socket, 1 << 20, timeout.Token).GetAwaiter().GetResult());
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
        {
            error.WriteLine("routerd: no answer from the daemon; it finishes the apply (and any rollback) on its own: see 'journalctl -u routerd'");
            return 1;
        }
        string[] lines = reply.TrimEnd('\n').Split('\n');
        int exit = 1;
        foreach (var line in lines)
        {
            if (line.StartsWith("exit ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int status))
                exit = status;
            else if (line.StartsWith("2 ", StringComparison.Ordinal))
                error.WriteLine(line[2..]);
            else
                output.WriteLine(line.StartsWith("1 ", StringComparison.Ordinal) ? line[2..] : line);
        }
        return exit;
    }
}
