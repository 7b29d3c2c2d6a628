using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Router.Daemon.Hosting;

namespace Router.Daemon.Apply;

/// <summary>
/// The local socket 'routerd apply' and 'routerd confirm' talk to (a unix stream socket, mode 0600: root only).
/// One request per connection, a few connections at once (see <see cref="AcceptLoop"/>). Request: a line
/// "apply SECONDS [no-confirm] [dry-run] [ssh=CLIENT,SERVER]" (<see cref="ApplyOptions.RequestLine"/>; SECONDS 0 = no
/// confirm window asked for) followed by the JSON until the client shuts down its side, or the line "confirm". Response: lines for the user, each prefixed "1 " (for stdout) or
/// "2 " (for stderr: the problems found), then "exit N" as the last line.
/// </summary>
internal sealed class ControlSocket : IAsyncDisposable
{
    public const string DefaultPath = "/run/router/control.sock";

    // The client ('routerd apply') has read its whole file before it connects: its request takes milliseconds to
    // send, so a client that has not finished in 10 s is stalled and is dropped.
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _listener;
    private readonly string _path;
    private readonly ApplyTransaction _apply;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private ControlSocket(Socket listener, string path, ApplyTransaction apply)
    {
        _listener = listener;
        _path = path;
        _apply = apply;
        _loop = Task.Run(AcceptLoopAsync);
    }

    public static ControlSocket Start(string path, ApplyTransaction apply)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (File.Exists(path))
            File.Delete(path); // left by a previous run
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        socket.Listen(4);
        return new ControlSocket(socket, path, apply);
    }

    // A client that goes away mid-apply (an SSH session cut) changes nothing: the transaction, not the client, finishes the job.
    private Task AcceptLoopAsync() => AcceptLoop.RunAsync(_listener, _stop.Token, ServeAsync, "control socket");

    private async Task ServeAsync(Socket client)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(ReadTimeout);
        byte[] request = await ReadAllAsync(client, Config.ConfigLoader.MaxFileSize + 64, timeout.Token);
        int newline = Array.IndexOf(request, (byte)'\n');
        string command = Encoding.ASCII.GetString(request, 0, newline < 0 ? request.Length : newline).Trim();
        string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        var reply = new StringBuilder();
        int exit;
        if (words.Length >= 2 && words[0] == "apply" && ApplyOptions.Parse(words[1..]) is { } options && newline >= 0)
        {
            // The apply runs to completion even if the client disconnects: a half-applied change must still be checked.
            var result = await _apply.SubmitAsync(request.AsMemory(newline + 1), options, _stop.Token);
            // Also in the journal: the SSH session that asked may be the one the change cut.
            if (result.Outcome == ApplyOutcome.RolledBack)
                Log.Error($"apply: {result.Message}");
            else if (result.Outcome != ApplyOutcome.DryRun)
                Log.Info($"apply: {result.Message}");
            foreach (var w in result.Warnings)
            {
                if (result.Outcome != ApplyOutcome.DryRun && w.StartsWith("warning:", StringComparison.Ordinal))
                    Log.Info($"apply: {w}");
            }
            foreach (var p in result.Problems)
                reply.Append("2 ").Append(p).Append('\n');
            foreach (var w in result.Warnings)
                reply.Append("2 ").Append(w).Append('\n');
            if (result.Changes.Count > 0)
            {
                reply.Append("1 ").Append(result.Outcome == ApplyOutcome.DryRun ? "would change:" : "changes:").Append('\n');
                foreach (var c in result.Changes)
                    reply.Append("1 ").Append(c).Append('\n');
            }
            reply.Append("1 ").Append(result.Message).Append('\n');
            exit = result.ExitStatus;
        }
        else if (words is ["confirm"])
        {
            bool confirmed = _apply.Confirm();
            string answer = confirmed ? "confirmed: the configuration stays" : _apply.NothingToConfirm();
            Log.Info(confirmed ? "apply: confirmed; the configuration stays" : $"confirm: {answer}");
            reply.Append(confirmed ? "1 " : "2 ").Append(answer).Append('\n');
            exit = confirmed ? 0 : 1;
        }
        else
        {
            reply.Append("2 unknown request\n");
            exit = 2;
        }
        reply.Append("exit ").Append(exit.ToString(CultureInfo.InvariantCulture)).Append('\n');
        await client.SendAsync(Encoding.UTF8.GetBytes(reply.ToString()), SocketFlags.None, _stop.Token);
        client.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Reads until the peer shuts down its sending side, at most <paramref name="limit"/> bytes.</summary>
    public static async Task<byte[]> ReadAllAsync(Socket socket, int limit, CancellationToken cancel)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16384];
        int n;
        while ((n = await socket.ReceiveAsync(chunk, SocketFlags.None, cancel)) > 0)
        {
            if (buffer.Length + n > limit)
                throw new IOException("request too large");
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
        }
        if (File.Exists(_path))
            File.Delete(_path);
        _stop.Dispose();
    }
}
