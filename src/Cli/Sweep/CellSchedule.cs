using System.Globalization;
using System.Runtime.ExceptionServices;

namespace ResOdeProofs.Cli.Sweep;

/// <summary>
/// Work of the calling process that shares the lanes with a study's cells (the report's Fashion-MNIST runs, its
/// architecture runs, figure 1 across seeds): <paramref name="Cost"/> is its estimate in the unit of
/// <see cref="CellSchedule.Estimate(Cell)"/>.
/// </summary>
internal sealed record SideJob(string Name, double Cost, Action Run);

/// <summary>
/// The order in which a study's cells run: longest first (by an estimate from the setting), each lane taking the next
/// item of one queue when it is free, so that the lanes end close together (the last item a lane takes is among the
/// shortest). The order changes nothing in any cell's result: each cell is the same run in whichever worker and at
/// whichever time it runs.
/// </summary>
internal static class CellSchedule
{
    // The estimate in seconds of one idle core of the reference machine (2-core AMD EPYC, AVX-512), from the cells of the
    // quick and paper presets: train + verify ≈ Fixed + iterations·(PerIterate + u·PerIterateUnit) + snapshots·u·PerSnapshotUnit
    // (×IidFactor for an i.i.d. initialization, whose rough weights make the reference neural-ODE solves of B.bound long),
    // u = L·n·m·d. Only the order matters, so a factor of two either way is harmless.
    private const double Fixed = 0.3, PerIterate = 4e-4, PerIterateUnit = 5e-9, PerSnapshotUnit = 4e-7, IidFactor = 3;

    /// <summary>The estimated seconds of a run of this shape (the unit of every cost the schedule compares).</summary>
    public static double Estimate(int depth, int samples, int width, int dim, int iterations, int snapshots, bool iid)
    {
        double u = (double)depth * samples * width * dim;
        return Fixed + iterations * (PerIterate + u * PerIterateUnit) + snapshots * u * PerSnapshotUnit * (iid ? IidFactor : 1);
    }

    /// <summary>
    /// The estimated seconds of a cell, from its `train` setting; 0 for a setting this model does not know (another
    /// architecture, an unreadable setting), which keeps such cells in the study's order after the known ones.
    /// </summary>
    public static double Estimate(Cell c)
    {
        try
        {
            if ((c.Get("arch") ?? "mlp").ToLowerInvariant() != "mlp") return 0;
            var pr = TrainCommand.Build().Parse(c.TrainArguments());
            if (pr.Errors.Count > 0) return 0;
            int iters = pr.GetValue<int>("--iters");
            var steps = TrainCommand.ParseSteps(pr.GetValue<string?>("--snapshot-steps"), iters);
            int snaps = steps?.Length ?? pr.GetValue<int>("--snapshots");
            bool iid = string.Equals(pr.GetValue<string>("--init"), "iid", StringComparison.OrdinalIgnoreCase);
            return Estimate(pr.GetValue<int>("--depth"), pr.GetValue<int>("--n"), pr.GetValue<int>("--width"), pr.GetValue<int>("--d"), iters, snaps, iid);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or StudyException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Runs <paramref name="items"/> on <paramref name="lanes"/> threads, longest estimated first (ties in the given order),
    /// each lane taking the next item when it is free. A lane stops taking items once <paramref name="cancel"/> is set or an
    /// item threw; the first exception is rethrown after every lane has finished its current item, and a cancellation as
    /// <see cref="OperationCanceledException"/>. Returns when each lane found the queue empty (how close together the lanes
    /// ended) and when each item ran on which lane.
    /// </summary>
    public static LaneLog RunLanes<T>(IReadOnlyList<T> items, Func<T, double> cost, int lanes, Action<T> run, CancellationToken cancel)
    {
        var queue = items.Select((x, i) => (x, i, c: cost(x))).OrderByDescending(t => t.c).ThenBy(t => t.i).ToArray();
        int next = -1;
        ExceptionDispatchInfo? failure = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int n = Math.Clamp(lanes, 1, Math.Max(1, queue.Length));
        var ends = new double[n];
        var ran = new LaneItem?[queue.Length];
        void Lane(int lane)
        {
            try { Take(lane); } finally { ends[lane] = clock.Elapsed.TotalSeconds; }
        }
        void Take(int lane)
        {
            while (!cancel.IsCancellationRequested && Volatile.Read(ref failure) is null)
            {
                int k = Interlocked.Increment(ref next);
                if (k >= queue.Length) return;
                double start = clock.Elapsed.TotalSeconds;
                try { run(queue[k].x); }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                    return;
                }
                finally { ran[k] = new LaneItem(queue[k].i, lane, start, clock.Elapsed.TotalSeconds, queue[k].c); }
            }
        }
        var threads = Enumerable.Range(0, n)
            .Select(i => new Thread(() => Lane(i)) { IsBackground = true, Name = "lane " + i.ToString(CultureInfo.InvariantCulture) }).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        failure?.Throw();
        cancel.ThrowIfCancellationRequested();
        return new LaneLog(ends, ran.OfType<LaneItem>().ToList());
    }
}

/// <summary>
/// One item run by <see cref="CellSchedule.RunLanes"/>: its index in the given list, the lane that ran it, its start and end
/// in seconds from the start of the lanes, and its estimated cost.
/// </summary>
internal sealed record LaneItem(int Index, int Lane, double Start, double End, double Cost);

/// <summary>What <see cref="CellSchedule.RunLanes"/> did: when each lane ran out of work, and every item it ran, in the order taken.</summary>
internal sealed record LaneLog(double[] Ends, IReadOnlyList<LaneItem> Items);
