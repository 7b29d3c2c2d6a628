// The Linux platform tests run only on Linux.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
