using System.Runtime.Versioning;

// routerd runs on Linux only (TUN, rtnetlink, sd_notify, Unix file modes); saying so once spares per-call guards.
[assembly: SupportedOSPlatform("linux")]
