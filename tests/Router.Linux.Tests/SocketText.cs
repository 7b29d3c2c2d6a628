using System.Net.Sockets;
using System.Text;

namespace Router.Linux.Tests;

/// <summary>Reading a local server's whole answer as text (UAPI tests here and in the daemon's interop tests).</summary>
internal static class SocketText
{
    /// <summary>Everything until the server hangs up; a reset after its reply (it left our last bytes unread) is an end too.</summary>
    public static string ReadToEnd(Socket socket)
    {
        var reply = new StringBuilder();
        byte[] buffer = new byte[4096];
        try
        {
            int n;
            while ((n = socket.Receive(buffer)) > 0)
                reply.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
        return reply.ToString();
    }
}
