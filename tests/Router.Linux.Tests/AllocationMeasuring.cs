namespace Router.Linux.Tests;

/// <summary>
/// Tests that count the process's allocated bytes (GC.GetTotalAllocatedBytes is process-wide): they run alone, after
/// the parallel ones, or another test's garbage lands in their figure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasuring
{
    public const string Name = "Allocation measuring (runs alone)";
}
