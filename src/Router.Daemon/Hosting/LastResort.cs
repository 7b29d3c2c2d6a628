namespace Router.Daemon.Hosting;

/// <summary>
/// The handler of last resort. Every path is written not to throw; should one still let an exception escape, routerd
/// logs one line (the exception's type and message, which never carry a secret) and exits with status 70
/// (EX_SOFTWARE) instead of aborting with a stack dump and SIGABRT, so systemd restarts it as after any failure.
/// A faulted task nobody awaited is logged and otherwise ignored.
/// </summary>
internal static class LastResort
{
    public const int ExitStatus = 70;

    public static void Install()
    {
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            var exception = e.ExceptionObject as Exception;
            if (exception is AggregateException { InnerException: { } inner })
                exception = inner;
            Log.Error($"internal error, exiting: {exception?.GetType().Name}: {exception?.Message}");
            Environment.Exit(ExitStatus);
        };
        TaskScheduler.UnobservedTaskException += (_, e) =>
        {
            e.SetObserved();
            Log.Error($"internal error in a background task (ignored): {e.Exception.InnerException?.GetType().Name}: {e.Exception.InnerException?.Message}");
        };
    }
}
