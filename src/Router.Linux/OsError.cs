using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Router.Linux;

/// <summary>
/// A failed system call as an exception whose message says what failed and why ("bind UDP port 51820: Address
/// already in use"): Win32Exception with a message of our own drops the strerror text, and an admin reading
/// "cannot bring up: bind UDP port 51820" cannot tell a busy port from a missing permission.
/// </summary>
internal static class OsError
{
    public static Win32Exception Of(int errno, string what) => new(errno, $"{what}: {Marshal.GetPInvokeErrorMessage(errno)}");
}
