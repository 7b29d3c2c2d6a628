namespace Router.Daemon.Hosting;

/// <summary>
/// A bounded wait on a task during shutdown that never throws: Task.Wait rethrows a fault as an AggregateException,
/// and one escaping from the shutdown path would abort routerd with its interfaces and sockets left behind.
/// </summary>
internal static class TaskWait
{
    /// <returns>True when the task ended (also by a fault, which is logged) within <paramref name="timeout"/>.</returns>
    public static bool Within(Task task, TimeSpan timeout, string what)
    {
        try
        {
            return task.Wait(timeout);
        }
        catch (AggregateException e)
        {
            if (e.InnerException is not (OperationCanceledException or null))
                Log.Error($"{what}: {e.InnerException.Message}");
            return true;
        }
    }
}
