using System.Runtime.Versioning;

// routerd and its daemon library are Linux-only; so are these harnesses (namespaces, GRO sockets).
[assembly: SupportedOSPlatform("linux")]

// One target at a time: each gets its whole budget of one core, and the figures per target mean something.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
