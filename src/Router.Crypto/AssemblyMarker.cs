namespace Router.Crypto;

/// Placeholder so the assembly is not empty until the first type lands.
internal static class AssemblyMarker;
