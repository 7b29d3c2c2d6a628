using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Router.Linux.Uapi;

/// <summary>What <see cref="UapiLineReader.ReadLineAsync"/> found.</summary>
internal enum UapiLineResult
{
    /// <summary>A line: <see cref="UapiLineReader.Line"/>, without its '\n'.</summary>
    Line,
    /// <summary>The client shut down its side (at a line boundary or not).</summary>
    End,
    /// <summary>More than <see cref="UapiLineReader.MaxLine"/> bytes without a '\n': not a UAPI line.</summary>
    TooLong,
}

/// <summary>
/// Buffered '\n'-terminated lines from a UAPI connection, read asynchronously (no thread waits on a client). A line is
/// a span into the buffer, valid until the next read. Reused across connections: <see cref="Attach"/> starts over.
/// </summary>
internal sealed class UapiLineReader
{
    /// <summary>wg sends one line per allowed IP; the longest real line (an endpoint) is under 100 bytes.</summary>
    public const int MaxLine = 4096;

    // Large enough that a big `wg setconf` arrives in few receives.
    private readonly byte[] _buffer = new byte[64 * 1024];
    private UapiConnection? _connection;
    private int _start;
    private int _end;
    private int _lineStart;
    private int _lineLength;

    /// <summary>The line the last <see cref="ReadLineAsync"/> returned.</summary>
    public ReadOnlySpan<byte> Line => _buffer.AsSpan(_lineStart, _lineLength);

    public void Attach(UapiConnection connection)
    {
        _connection = connection;
        _start = _end = _lineStart = _lineLength = 0;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<UapiLineResult> ReadLineAsync()
    {
        while (true)
        {
            int newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline > MaxLine || (newline < 0 && _end - _start > MaxLine))
                return UapiLineResult.TooLong; // the same verdict however the bytes were split into receives
            if (newline >= 0)
            {
                _lineStart = _start;
                _lineLength = newline;
                _start += newline + 1;
                return UapiLineResult.Line;
            }
            if (_start > 0)
            {
                // Move the partial line to the front and wipe the rest (it may have held a key).
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
                CryptographicOperations.ZeroMemory(_buffer.AsSpan(_end));
            }
            int received = await _connection!.Socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None);
            if (received == 0)
                return UapiLineResult.End;
            _end += received;
            _connection.Progress();
        }
    }

    /// <summary>Wipes the consumed part of the buffer (after a request: it may have carried secrets).</summary>
    public void Wipe() => CryptographicOperations.ZeroMemory(_buffer.AsSpan(0, _start));

    /// <summary>Wipes everything, unread bytes included, and lets go of the connection (it is over).</summary>
    public void WipeAll()
    {
        CryptographicOperations.ZeroMemory(_buffer);
        _connection = null;
        _start = _end = _lineStart = _lineLength = 0;
    }
}
