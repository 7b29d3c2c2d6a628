using System.Net.Sockets;

namespace Router.Daemon.Hosting;

/// <summary>
/// The accept loop of routerd's small one-request-per-connection servers (control socket, metrics): one client at a
/// time, each closed after it is served; a client that hangs up or stalls costs its own request and nothing else.
/// </summary>
internal static class AcceptLoop
{
    /// <summary>Accepts and serves clients until <paramref name="stop"/> is cancelled or the listener is closed.</summary>
    public static async Task RunAsync(Socket listener, CancellationToken stop, Func<Socket, Task> serve)
    {
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
                    return;
                continue;
            }
            using (client)
            {
                try
                {
                    await serve(client);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
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
}
