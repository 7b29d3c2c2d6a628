using Router.Daemon.Cli;
using Router.Daemon.Commands;

namespace Router.Daemon;

/// <summary>routerd's entry point: parse the one command-line grammar, then hand over to the verb.</summary>
internal static class Program
{
    /// <summary>Exit status for a command line that could not be understood (as getopt-style tools use).</summary>
    public const int UsageError = 2;

    private static int Main(string[] args)
    {
        Hosting.LastResort.Install();
        ParsedCommand? command = CommandLine.Parse(args, out string? error);
        if (command is null)
        {
            Console.Error.WriteLine($"routerd: {error} (try 'routerd --help')");
            return UsageError;
        }

        return command.Verb switch
        {
            Verb.Help => Help(command),
            Verb.Version => VersionCommand.Run(Console.Out),
            Verb.SelfTest => SelfTestCommand.Run(Console.Out),
            Verb.Bench => BenchCommand.Run(command, Console.Out, Console.Error),
            Verb.DropIn => DropInCommand.Run(command),
            Verb.GenKey => KeyCommands.GenKey(Console.OpenStandardOutput(), Console.Error),
            Verb.GenPsk => KeyCommands.GenPsk(Console.OpenStandardOutput(), Console.Error),
            Verb.PubKey => KeyCommands.PubKey(Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error),
            Verb.Import => ImportCommand.Run(command.Arguments.Count > 0 ? command.Arguments[0] : "", command.Option("output"), Console.OpenStandardOutput(), Console.Error),
            Verb.Apply => ApplyCommand.Apply(command.Arguments.Count > 0 ? command.Arguments[0] : null, command.Option("confirm"), Console.Out, Console.Error, Firmware.FirmwarePaths.ControlSocket,
                dryRun: command.Has("dry-run"), noConfirm: command.Has("no-confirm"), sshConnection: Environment.GetEnvironmentVariable("SSH_CONNECTION"),
                configPath: Firmware.FirmwarePaths.Config(command.Option("config"))),
            Verb.Confirm => ApplyCommand.Confirm(Console.Out, Console.Error, Firmware.FirmwarePaths.ControlSocket),
            Verb.Run => RunCommand.Run(command),
            Verb.Show => ShowCommand.Run(command, Console.Out, Console.Error),
            Verb.Peer => PeerCommand.Run(command, Console.Out, Console.Error),
            Verb.Check => CheckCommand.Run(command.Arguments.Count > 0 ? command.Arguments[0] : command.Option("config"), Console.Out),
            _ => NotYet(command),
        };
    }

    private static int Help(ParsedCommand command)
    {
        Console.Out.Write(CommandLine.Usage(command.Arguments.Count > 0 ? command.Arguments[0] : null));
        return 0;
    }

    // Verbs whose subsystem has not landed yet say so plainly instead of pretending to work.
    private static int NotYet(ParsedCommand command)
    {
        Console.Error.WriteLine($"routerd: '{command.Verb.ToString().ToLowerInvariant()}' is not available in this build yet");
        return 1;
    }
}
