using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(ResOdeProofs.Bench.GemmBenchmarks).Assembly).Run(args);
