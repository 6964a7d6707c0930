using ResOdeProofs.Cli.Sweep;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// The order in which a study's cells (and the report's own jobs) take the lanes: longest estimated first, one queue, so that
/// the lanes end together. In-process, with items that only record when they ran.
/// </summary>
public sealed class CellScheduleTests
{
    private static Cell Cell(int index, params (string Key, string Value)[] settings) =>
        new(index, $"h{index}", new[] { "g" }, $"cell {index}", settings.Select(kv => KeyValuePair.Create(kv.Key, kv.Value)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList());

    [Fact(DisplayName = "CellSchedule: one lane → items in order of decreasing cost, ties in the given order")]
    public void OneLaneRunsLongestFirst()
    {
        var costs = new[] { 1.0, 5.0, 3.0, 5.0, 0.0 };
        var ran = new List<int>();
        CellSchedule.RunLanes(Enumerable.Range(0, costs.Length).ToList(), i => costs[i], 1, i => ran.Add(i), CancellationToken.None);
        Assert.Equal(new[] { 1, 3, 2, 0, 4 }, ran);
    }

    [Fact(DisplayName = "CellSchedule: two lanes, the long items last in the study → the two longest start first, one on each lane, the shortest last")]
    public void TwoLanesStartWithTheLongest()
    {
        // The shape of the paper preset: many short cells, then a few long ones at the end of the study's order.
        var cost = Enumerable.Repeat(1.0, 12).Concat(new[] { 30.0, 32.0, 34.0 }).ToArray();
        var started = new List<(int Item, int Thread)>();
        using var both = new Barrier(2);
        CellSchedule.RunLanes(Enumerable.Range(0, cost.Length).ToList(), i => cost[i], 2, i =>
        {
            lock (started) started.Add((i, Environment.CurrentManagedThreadId));
            // the two longest items hold their lanes until both have started: nothing else can start before them
            if (cost[i] >= 32) Assert.True(both.SignalAndWait(TimeSpan.FromSeconds(30)), "the second lane never took the second-longest item");
        }, CancellationToken.None);
        Assert.Equal(cost.Length, started.Count);
        Assert.Equal(new[] { 13, 14 }, started.Take(2).Select(x => x.Item).Order());
        Assert.NotEqual(started[0].Thread, started[1].Thread);
        Assert.Equal(12, started[2].Item);
        Assert.All(started.Skip(3), x => Assert.True(x.Item < 12));
    }

    [Fact(DisplayName = "CellSchedule: 40 items of mixed cost on two lanes → each runs once, the log lists each once in the order taken, on the lane that ran it")]
    public void TheLogListsEveryItemOnce()
    {
        var cost = Enumerable.Range(0, 40).Select(i => (double)((i * 7) % 11)).ToArray();
        var ran = new System.Collections.Concurrent.ConcurrentBag<(int Item, string Lane)>();
        var log = CellSchedule.RunLanes(Enumerable.Range(0, cost.Length).ToList(), i => cost[i], 2, i =>
        {
            ran.Add((i, Thread.CurrentThread.Name!));
            Thread.Sleep(1);
        }, CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, cost.Length), ran.Select(x => x.Item).Order());
        Assert.Equal(Enumerable.Range(0, cost.Length), log.Items.Select(x => x.Index).Order());
        // taken longest first: the log's estimates never increase, and each item's lane is the thread that ran it
        Assert.True(log.Items.Zip(log.Items.Skip(1)).All(p => p.First.Cost >= p.Second.Cost));
        var lane = ran.ToDictionary(x => x.Item, x => x.Lane);
        Assert.All(log.Items, x => Assert.Equal("lane " + x.Lane, lane[x.Index]));
        Assert.All(log.Items, x => Assert.True(x.Start <= x.End && x.End <= log.Ends[x.Lane], $"item {x.Index}: {x.Start}..{x.End}, lane ended {log.Ends[x.Lane]}"));
        // on one lane, items follow one another
        foreach (var g in log.Items.GroupBy(x => x.Lane))
            Assert.True(g.Zip(g.Skip(1)).All(p => p.First.End <= p.Second.Start));
    }

    [Fact(DisplayName = "CellSchedule: an item throws → the queue stops, the exception is rethrown")]
    public void AFailureStopsTheQueue()
    {
        int started = 0;
        var e = Assert.Throws<InvalidOperationException>(() => CellSchedule.RunLanes(Enumerable.Range(0, 20).ToList(), i => 20 - i, 2, i =>
        {
            Interlocked.Increment(ref started);
            if (i == 0) throw new InvalidOperationException("boom");
            Thread.Sleep(100);
        }, CancellationToken.None));
        Assert.Equal("boom", e.Message);
        // the other lane finishes the item it holds and takes no more once the failure is recorded (1 or 2 items in practice)
        Assert.InRange(started, 1, 19);
    }

    [Fact(DisplayName = "CellSchedule: cancelled → no item starts, OperationCanceledException")]
    public void CancelledRunsNothing()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        int started = 0;
        Assert.Throws<OperationCanceledException>(() => CellSchedule.RunLanes(new[] { 1, 2, 3 }, i => i, 2, _ => Interlocked.Increment(ref started), cts.Token));
        Assert.Equal(0, started);
    }

    [Fact(DisplayName = "CellSchedule.Estimate: deeper, longer, i.i.d. → larger; another architecture or a bad setting → 0")]
    public void EstimateOrdersTheSettings()
    {
        double E(params (string, string)[] s) => CellSchedule.Estimate(Cell(0, s));
        var rung = new[] { ("width", "32"), ("n", "100"), ("d", "16"), ("iters", "50"), ("snapshot-steps", "0..50/5,49") };
        double tied256 = E(rung.Append(("depth", "256")).Append(("init", "tied")).ToArray());
        double tied1024 = E(rung.Append(("depth", "1024")).Append(("init", "tied")).ToArray());
        double iid1024 = E(rung.Append(("depth", "1024")).Append(("init", "iid")).ToArray());
        double control = E(("depth", "8"), ("width", "16"), ("n", "10"), ("d", "4"), ("iters", "10"));
        Assert.True(control < tied256 && tied256 < tied1024 && tied1024 < iid1024, $"{control} {tied256} {tied1024} {iid1024}");
        Assert.Equal(0, E(("arch", "bn-conv"), ("depth", "8")));
        Assert.Equal(0, E(("depth", "not a number")));
    }
}
