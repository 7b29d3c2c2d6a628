using System.Runtime.Versioning;

// routerd is Linux-only (its assembly says so); so are its tests.
[assembly: SupportedOSPlatform("linux")]
