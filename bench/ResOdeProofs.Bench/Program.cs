using BenchmarkDotNet.Running;

// `--min-probe [ROUNDS]`: minimum-of-many timings for a loaded machine (MinProbe.cs); `--layer-probe [ROUNDS]`: the engine's
// per-layer steps at the figure sizes on this process's code path (LayerProbe.cs); `--iteration-probe [ROUNDS]`: a whole
// figure-2 iteration split into the evaluation and the trainer's passes (IterationProbe.cs); `--fig1-probe [ROUNDS]`: a
// figure-1 evaluation on one and two threads against one block alone, in the cache, and the memory bandwidth
// (Fig1Probe.cs); `--centre-probe [ROUNDS]`: the
// centre step of A.split.centre.segments against an evaluation (CentreProbe.cs); `--handoff-probe [ROUNDS]`: quantiles of
// two-thread figure-2 iterations with and without the lingering helper thread (HandoffProbe.cs); `--observer-probe
// [ROUNDS]`: the observer alone after each evaluation, for a profiler (ObserverProbe.cs); `--replay-probe [ROUNDS]`: the
// observed replay's lane at figure 2, part by part, in CPU time (ReplayProbe.cs); `--lane-probe RUN_DIR [REPEATS] [--as-this-build]`: an observed
// replay of a run directory (on the bit-exact path when the run is taken as this build's), where each of its two lanes spends its wall (LaneProbe.cs); `--keep-probe MODE [CALLS]`: figure-2
// evaluations keeping nothing, the states or the products (in two sets, or one: states1, products1), for perf stat (KeepProbe.cs); `--spectral-probe [CALLS]`: the split
// pass' spectral upper value and its parts (SpectralProbe.cs); `--ordered-probe [ROUNDS]`: the reference products
// (Layerwise.MultiplyOrdered) on each vector width at their callers' shapes (OrderedProbe.cs); `--transpose-probe [CALLS]`:
// FastKernels.Transpose of doubles at its callers' shapes (TransposeProbe.cs); `--shapes-probe [ROUNDS]`: the observer's three
// product shapes at figure 2 against the FMA peak (ShapesProbe.cs); `--series-probe [CALLS]`: consecutive figure-2 evaluations
// in blocks of 100, to tell a host's slow stretches from scattered slow calls (SeriesProbe.cs); `--traffic-probe [ROUNDS]`:
// figure 2's evaluation keeping its products while another thread reads memory as the observer does (TrafficProbe.cs);
// anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "--min-probe")
    ResOdeProofs.Bench.MinProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000);
else if (args.Length > 0 && args[0] == "--centre-probe")
    ResOdeProofs.Bench.CentreProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
else if (args.Length > 0 && args[0] == "--observer-probe")
    ResOdeProofs.Bench.ObserverProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
else if (args.Length > 0 && args[0] == "--layer-probe")
    ResOdeProofs.Bench.LayerProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000);
else if (args.Length > 0 && args[0] == "--iteration-probe")
    ResOdeProofs.Bench.IterationProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000);
else if (args.Length > 0 && args[0] == "--fig1-probe")
    ResOdeProofs.Bench.Fig1Probe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 40);
else if (args.Length > 0 && args[0] == "--replay-probe")
    ResOdeProofs.Bench.ReplayProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30);
else if (args.Length > 1 && args[0] == "--keep-probe")
    ResOdeProofs.Bench.KeepProbe.Run(args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1000);
else if (args.Length > 1 && args[0] == "--lane-probe")
    ResOdeProofs.Bench.LaneProbe.Run(args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3,
                                     asThisBuild: args.Contains("--as-this-build"));
else if (args.Length > 0 && args[0] == "--spectral-probe")
    ResOdeProofs.Bench.SpectralProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100000);
else if (args.Length > 0 && args[0] == "--gelu-lanes-probe")
    ResOdeProofs.Bench.GeluLanesProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000);
else if (args.Length > 0 && args[0] == "--ordered-probe")
    ResOdeProofs.Bench.OrderedProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
else if (args.Length > 0 && args[0] == "--transpose-probe")
    ResOdeProofs.Bench.TransposeProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200000);
else if (args.Length > 0 && args[0] == "--shapes-probe")
    ResOdeProofs.Bench.ShapesProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000);
else if (args.Length > 0 && args[0] == "--series-probe")
    ResOdeProofs.Bench.SeriesProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3000);
else if (args.Length > 0 && args[0] == "--traffic-probe")
    ResOdeProofs.Bench.TrafficProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 400);
else if (args.Length > 0 && args[0] == "--handoff-probe")
    ResOdeProofs.Bench.HandoffProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 40);
else
    BenchmarkSwitcher.FromAssembly(typeof(ResOdeProofs.Bench.GemmBenchmarks).Assembly).Run(args);
