using System.Runtime.Versioning;

// routerd and its daemon library are Linux-only; so are these harnesses (namespaces, GRO sockets).
[assembly: SupportedOSPlatform("linux")]
