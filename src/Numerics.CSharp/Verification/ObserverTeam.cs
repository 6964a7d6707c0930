namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// The two threads of an observed replay sharing the observer's per-pair work. The observer of iterate i runs on the
/// replay's side thread (<see cref="SideWorker"/>); its loops over layers or pairs are cut into parts (<see cref="For"/>)
/// that the side thread and, once it has evaluated iterate i + 1, the replay's thread (<see cref="Help"/>) both claim,
/// the side thread from the front and the replay's thread from the back, so two threads are busy, no third one spins, and
/// from one iterate to the next each thread tends to run the same items (their per-item state stays in its core's cache
/// instead of moving between the cores). A part writes only its own items' results and every
/// reduction over items is done afterwards in item order, so which thread ran which part, and how the items were cut into
/// parts, changes no number. Outside an observer job of a team (one processor, tests) <see cref="For"/> runs every item on
/// the caller.
/// </summary>
public sealed class ObserverTeam
{
    /// <summary>The threads that may run parts: worker 0 is the observer's thread, worker 1 the replay's.</summary>
    public const int Workers = 2;

    /// <summary>Items [from, until) of a loop, run by worker <paramref name="worker"/> (0 or 1: which scratch to use).</summary>
    public delegate void PartBody(int from, int until, int worker);

    [ThreadStatic] private static ObserverTeam? t_current;

    /// <summary>
    /// Items per part when set (tests: an uneven cut, e.g. 3 items per part over 7 pairs); by default one item per part, which
    /// balances the two threads best (an item is a pair or a layer: tens of microseconds or more at figure 2).
    /// </summary>
    internal static int? ForcedPartSize { get; set; }

    private sealed class Job
    {
        public readonly PartBody Body;
        public readonly int Items, Size, Parts;
        // the unclaimed parts are [front, back): the low 32 bits hold front, the high 32 bits back
        private long _range;
        public int Pending;
        public Exception? Error;
        public Job(PartBody body, int items, int size)
        {
            Body = body; Items = items; Size = size; Parts = (items + size - 1) / size; Pending = Parts;
            _range = (long)Parts << 32;
        }

        /// <summary>The next unclaimed part from the front (worker 0) or the back (worker 1), or −1 when none is left.</summary>
        private int Take(int worker)
        {
            while (true)
            {
                long r = Volatile.Read(ref _range);
                int front = (int)(r & 0xFFFFFFFF), back = (int)(r >> 32);
                if (front >= back) return -1;
                long next = worker == 0 ? r + 1 : r - (1L << 32);
                if (Interlocked.CompareExchange(ref _range, next, r) == r) return worker == 0 ? front : back - 1;
            }
        }

        /// <summary>Runs unclaimed parts until none is left; true when this call ran the last part to finish.</summary>
        public bool Claim(int worker)
        {
            bool last = false;
            while (true)
            {
                int p = Take(worker);
                if (p < 0) return last;
                try { Body(p * Size, Math.Min(Items, (p + 1) * Size), worker); }
                catch (Exception ex) { Interlocked.CompareExchange(ref Error, ex, null); }
                finally { if (Interlocked.Decrement(ref Pending) == 0) last = true; }
            }
        }
    }

    private readonly object _gate = new();
    private Job? _job;
    private bool _finished = true;   // no observer job running

    /// <summary>
    /// Runs <paramref name="body"/> over items [0, <paramref name="items"/>) in parts, every part once; on the observer thread
    /// of a team the replay's thread claims parts too. Returns when every part has run; rethrows a part's exception.
    /// </summary>
    public static void For(int items, PartBody body)
    {
        if (items <= 0) return;
        var team = t_current;
        int size = Math.Max(1, ForcedPartSize ?? 1);
        if (team is null)
        {
            // the same cut, on the caller
            for (int from = 0; from < items; from += size) body(from, Math.Min(items, from + size), 0);
            return;
        }
        team.Run(new Job(body, items, size));
    }

    private void Run(Job job)
    {
        lock (_gate) { _job = job; Monitor.PulseAll(_gate); }
        job.Claim(0);
        if (Volatile.Read(ref job.Pending) != 0)
        {
            long t0 = ReplayLaneTimes.Enabled ? ReplayLaneTimes.Now() : 0;
            // a part the replay's thread claimed is still running: spin briefly (it is running, not waiting), then block
            var spin = new SpinWait();
            for (int k = 0; k < 64 && Volatile.Read(ref job.Pending) != 0; k++) spin.SpinOnce(sleep1Threshold: -1);
            lock (_gate) { while (Volatile.Read(ref job.Pending) != 0) Monitor.Wait(_gate); }
            if (ReplayLaneTimes.Enabled) ReplayLaneTimes.Add(ref ReplayLaneTimes.OWaitParts, t0);
        }
        if (job.Error is Exception ex) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex).Throw();
    }

    /// <summary>Wraps an observer job: it runs as this team's observer (its <see cref="For"/> loops are shared), and the team
    /// learns when it has finished.</summary>
    internal Action Wrap(Action observe) => () =>
    {
        t_current = this;
        try { observe(); }
        finally
        {
            t_current = null;
            lock (_gate) { _job = null; _finished = true; Monitor.PulseAll(_gate); }
        }
    };

    /// <summary>Before an observer job is started: not finished, no parts posted.</summary>
    internal void Reset()
    {
        lock (_gate) { _job = null; _finished = false; }
    }

    /// <summary>
    /// On the replay's thread: claims the parts of the running observer job's loops until that job has finished (at once when
    /// none is running).
    /// </summary>
    internal void Help()
    {
        Job? seen = null;
        bool timed = ReplayLaneTimes.Enabled;
        long t = timed ? ReplayLaneTimes.Now() : 0;
        while (true)
        {
            Job? job;
            lock (_gate)
            {
                while (!_finished && (_job is null || ReferenceEquals(_job, seen))) Monitor.Wait(_gate);
                if (_finished) { if (timed) ReplayLaneTimes.Add(ref ReplayLaneTimes.RHelpWait, t); return; }
                job = _job!;
            }
            seen = job;
            if (timed) { ReplayLaneTimes.Add(ref ReplayLaneTimes.RHelpWait, t); t = ReplayLaneTimes.Now(); }
            if (job.Claim(1)) lock (_gate) Monitor.PulseAll(_gate);
            if (timed) { ReplayLaneTimes.Add(ref ReplayLaneTimes.RHelpRun, t); t = ReplayLaneTimes.Now(); }
        }
    }
}
