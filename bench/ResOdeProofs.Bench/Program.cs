using BenchmarkDotNet.Running;

// `--min-probe [ROUNDS]`: minimum-of-many timings for a loaded machine (MinProbe.cs); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "--min-probe")
    ResOdeProofs.Bench.MinProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000);
else
    BenchmarkSwitcher.FromAssembly(typeof(ResOdeProofs.Bench.GemmBenchmarks).Assembly).Run(args);
