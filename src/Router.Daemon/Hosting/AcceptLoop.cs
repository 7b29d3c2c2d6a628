using System.Net.Sockets;

namespace Router.Daemon.Hosting;

/// <summary>
/// The accept loop of routerd's small one-request-per-connection servers (control socket, status socket, metrics):
/// up to <c>maxClients</c> clients served at once with asynchronous I/O (no thread waits on a client), each closed after
/// it is served; a client beyond that is closed at once (counted, logged at most every 10 s). A client that hangs up
/// or stalls costs its own request and nothing else: each server bounds its clients' time with a timeout.
/// </summary>
internal static class AcceptLoop
{
    /// <summary>Enough for a person and a script or two; a stalled client no longer makes the next one wait.</summary>
    public const int DefaultMaxClients = 4;

    private const long RefusalLogIntervalMs = 10_000;

    /// <summary>Accepts and serves clients until <paramref name="stop"/> is cancelled or the listener is closed, then waits for those being served.</summary>
    public static async Task RunAsync(Socket listener, CancellationToken stop, Func<Socket, Task> serve, string name, int maxClients = DefaultMaxClients)
    {
        var serving = new List<Task>(maxClients); // only this loop touches it
        long refused = 0;
        long lastRefusalLog = long.MinValue / 2;
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (stop.IsCancellationRequested)
                    break;
                await Task.Delay(10, CancellationToken.None); // e.g. EMFILE: do not spin
                continue;
            }
            serving.RemoveAll(static t => t.IsCompleted);
            if (serving.Count >= maxClients)
            {
                client.Dispose();
                refused++;
                long now = Environment.TickCount64;
                if (now - lastRefusalLog >= RefusalLogIntervalMs)
                {
                    Log.Info($"{name}: {refused} connection(s) refused: {maxClients} clients were being served");
                    lastRefusalLog = now;
                    refused = 0;
                }
                continue;
            }
            serving.Add(ServeOneAsync(client, serve));
        }
        await Task.WhenAll(serving);
    }

    private static async Task ServeOneAsync(Socket client, Func<Socket, Task> serve)
    {
        await Task.Yield(); // off the accept loop: it goes on accepting while this client is served
        using (client)
        {
            try
            {
                await serve(client);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // The client went away or stalled past its timeout.
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A bug in serving one request must not end the loop (the socket would go deaf) nor fault its
                // task (shutdown would rethrow it): that request fails, the next one is served.
                Log.Error($"request failed: {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
