namespace Router.Daemon.Cli;

/// <summary>What routerd was asked to do.</summary>
internal enum Verb
{
    Help,
    Version,
    /// <summary>wireguard-go-compatible drop-in: <c>routerd [-f] IFNAME</c>, driven by wg(8) over the UAPI socket.</summary>
    DropIn,
    Run,
    Check,
    Apply,
    Confirm,
    Show,
    Peer,
    GenKey,
    PubKey,
    GenPsk,
    Import,
    SelfTest,
    Bench,
}
