namespace ResOdeProofs.Numerics;

/// <summary>
/// How many processors a piece of work may keep busy at once: the process's (<see cref="Environment.ProcessorCount"/>)
/// unless the code that runs the work has limited it (<see cref="Limit"/>). `resode report` runs its side jobs (figure 1
/// across seeds, the architectures' runs, Fashion-MNIST) in its own process on the cells' lanes, beside worker processes
/// that each see their share of the cores; each side job gets the same share, so that a verify inside it does not start a
/// second busy thread on a core the other lane is using. The limit flows with the execution context into the threads and
/// tasks the work starts. What is computed never depends on it, only whether parts of it run beside each other: the
/// replay's side thread (<c>SideWorker</c>) runs its jobs on the caller, and the parallel loops that read it take one
/// element at a time.
/// </summary>
public static class ProcessorBudget
{
    private static readonly AsyncLocal<int> s_limit = new();

    /// <summary>The processors available to the calling code: the process's, or fewer inside <see cref="Limit"/>.</summary>
    public static int Available => s_limit.Value > 0 ? Math.Min(s_limit.Value, Environment.ProcessorCount) : Environment.ProcessorCount;

    /// <summary>Limits <see cref="Available"/> to <paramref name="processors"/> (at least 1) until the returned scope is disposed.</summary>
    public static Scope Limit(int processors)
    {
        var scope = new Scope(s_limit.Value);
        s_limit.Value = Math.Max(1, processors);
        return scope;
    }

    /// <summary>Restores the limit that held before <see cref="Limit"/> when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly int _previous;
        internal Scope(int previous) { _previous = previous; }
        public void Dispose() => s_limit.Value = _previous;
    }
}
