using System.Globalization;

namespace Router.Daemon.Hosting;

/// <summary>
/// With ROUTERD_MEMORY_LOG=SECONDS (1..3600), one line on stderr every SECONDS with what the managed heap holds,
/// whatever LOG_LEVEL says: the soak benchmark (bench/scripts/soak.sh) sets it to tell managed growth from native
/// growth, which RSS alone cannot. Sizes in KiB:
/// <c>memory: heap_kb=.. committed_kb=.. fragmented_kb=.. poh_kb=.. allocated_kb=.. gc0=.. gc1=.. gc2=.. pinned=..</c>
/// (allocated_kb counts every byte ever allocated: it should not move in steady state).
/// </summary>
internal static class MemoryLog
{
    private static Timer? _timer;

    /// <summary>Starts the timer if the variable asks for it; a second call does nothing.</summary>
    public static void StartFromEnvironment()
    {
        if (_timer is not null
            || !int.TryParse(Environment.GetEnvironmentVariable("ROUTERD_MEMORY_LOG"), NumberStyles.None, CultureInfo.InvariantCulture, out int seconds)
            || seconds is < 1 or > 3600)
            return;
        _timer = new Timer(_ => Write(), null, TimeSpan.Zero, TimeSpan.FromSeconds(seconds));
    }

    private static void Write()
    {
        GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.Any);
        // GenerationInfo: 0-2 the generations, 3 the large-object heap, 4 the pinned-object heap (every packet buffer).
        long poh = info.GenerationInfo.Length > 4 ? info.GenerationInfo[4].SizeAfterBytes : 0;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"memory: heap_kb={GC.GetTotalMemory(false) / 1024} committed_kb={info.TotalCommittedBytes / 1024} " +
            $"fragmented_kb={info.FragmentedBytes / 1024} poh_kb={poh / 1024} allocated_kb={GC.GetTotalAllocatedBytes() / 1024} " +
            $"gc0={GC.CollectionCount(0)} gc1={GC.CollectionCount(1)} gc2={GC.CollectionCount(2)} pinned={info.PinnedObjectsCount}");
        Console.Error.WriteLine(line);
        Console.Error.Flush();
    }
}
