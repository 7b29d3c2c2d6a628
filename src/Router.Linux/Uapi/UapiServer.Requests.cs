using System.Net.Sockets;

namespace Router.Linux.Uapi;

/// <summary>The requests of one connection: get=1, get=drops and set=1, each answered with an errno line.</summary>
public sealed partial class UapiServer
{
    // Replies go out in pieces so that a client that reads slowly still shows progress to the idle sweeper.
    private const int SendChunk = 64 * 1024;

    private async Task ServeAsync(UapiConnection connection)
    {
        UapiLineReader? reader = null;
        UapiWriter? writer = null;
        try
        {
            // A zero-byte receive waits for the first bytes (or EOF) before 80 KiB of buffers are taken: a stalled
            // client costs its socket and nothing more.
            await connection.Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
            (reader, writer) = TakeBuffers();
            reader.Attach(connection);
            while (!_closed && connection.Enter(UapiConnection.Waiting))
            {
                UapiLineResult read = await reader.ReadLineAsync();
                if (read == UapiLineResult.End || !connection.Enter(UapiConnection.Reading))
                    break;
                bool keepOpen;
                if (read == UapiLineResult.TooLong)
                    keepOpen = LineTooLong(writer);
                else if (reader.Line.SequenceEqual("get=1"u8))
                    keepOpen = await HandleGetAsync(connection, reader, writer, drops: false);
                else if (reader.Line.SequenceEqual("get=drops"u8))
                    keepOpen = await HandleGetAsync(connection, reader, writer, drops: true);
                else if (reader.Line.SequenceEqual("set=1"u8))
                    keepOpen = await HandleSetAsync(connection, reader, writer);
                else
                {
                    // wireguard-go just hangs up; an errno first tells a human with socat what went wrong.
                    Log?.Invoke("UAPI: unknown operation");
                    Reply(writer, UapiErrno.Invalid);
                    keepOpen = false;
                }
                if (!connection.Enter(UapiConnection.Writing))
                    break;
                await SendAsync(connection, writer.WrittenMemory);
                writer.Clear();
                reader.Wipe();
                if (!keepOpen)
                    break;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            // The client went away, or was closed for idling.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in one request must not leave its connection open nor fault an unobserved task.
            Log?.Invoke($"UAPI: request failed: {e.GetType().Name}");
        }
        finally
        {
            Release(connection, reader, writer);
        }
    }

    /// <summary>wireguard-go's set answers a line its scanner cannot hold with EIO; so do we, then hang up.</summary>
    private bool LineTooLong(UapiWriter writer)
    {
        Log?.Invoke($"UAPI: a line longer than {UapiLineReader.MaxLine} bytes");
        writer.Clear();
        Reply(writer, UapiErrno.IO);
        return false;
    }

    private async ValueTask<bool> HandleGetAsync(UapiConnection connection, UapiLineReader reader, UapiWriter writer, bool drops)
    {
        // get=1 is followed by exactly one blank line.
        UapiLineResult read = await reader.ReadLineAsync();
        if (read == UapiLineResult.End)
            throw new IOException("EOF inside a get request");
        if (read == UapiLineResult.TooLong)
            return LineTooLong(writer);
        if (!reader.Line.IsEmpty)
        {
            Log?.Invoke("UAPI: trailing data after a get");
            Reply(writer, UapiErrno.Invalid);
            return false;
        }
        if (!connection.Enter(UapiConnection.Working))
            throw new ObjectDisposedException(nameof(UapiConnection));
        int errno = UapiErrno.Ok;
        await _deviceGate.WaitAsync();
        try
        {
            if (drops)
                _device.GetDrops(writer);
            else
                _device.Get(writer);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log?.Invoke($"UAPI: get failed: {e.Message}");
            writer.Clear();
            errno = UapiErrno.IO;
        }
        finally
        {
            _deviceGate.Release();
        }
        Reply(writer, errno);
        return true;
    }

    private async ValueTask<bool> HandleSetAsync(UapiConnection connection, UapiLineReader reader, UapiWriter writer)
    {
        var parser = new UapiParser();
        bool handedOver = false;
        try
        {
            while (true)
            {
                UapiLineResult read = await reader.ReadLineAsync();
                if (read == UapiLineResult.End)
                    throw new IOException("EOF inside a set request"); // an incomplete request is not applied
                if (read == UapiLineResult.TooLong)
                    return LineTooLong(writer);
                if (reader.Line.IsEmpty)
                    break;
                parser.ParseLine(reader.Line);
            }
            int errno = parser.Error;
            if (errno != 0)
            {
                Log?.Invoke($"UAPI: set rejected ({errno}): {parser.ErrorMessage}");
            }
            else
            {
                if (!connection.Enter(UapiConnection.Working))
                    throw new ObjectDisposedException(nameof(UapiConnection));
                handedOver = true;
                using UapiSetRequest request = parser.Finish();
                await _deviceGate.WaitAsync();
                try
                {
                    errno = _device.Set(request);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Log?.Invoke($"UAPI: set failed: {e.Message}");
                    errno = UapiErrno.Unknown;
                }
                finally
                {
                    _deviceGate.Release();
                }
            }
            Reply(writer, errno);
            return true;
        }
        finally
        {
            if (!handedOver)
                parser.Abandon(); // wipes the keys it collected
        }
    }

    private static async ValueTask SendAsync(UapiConnection connection, ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int sent = await connection.Socket.SendAsync(bytes[..Math.Min(bytes.Length, SendChunk)], SocketFlags.None);
            bytes = bytes[sent..];
            connection.Progress();
        }
    }

    private static void Reply(UapiWriter writer, int errno)
    {
        writer.WriteRaw("errno="u8);
        Span<byte> digits = stackalloc byte[12];
        System.Buffers.Text.Utf8Formatter.TryFormat(errno, digits, out int length);
        writer.WriteRaw(digits[..length]);
        writer.WriteRaw("\n\n"u8);
    }
}
