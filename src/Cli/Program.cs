using System.CommandLine;
using ResOdeProofs.Cli;

var root = new RootCommand("resode: executable theorems of deep residual networks and their neural-ODE limit " +
                           "(Marion, Wu, Sander, Biau, ICLR 2024), checked against real training runs.");
root.Subcommands.Add(TrainCommand.Build());
root.Subcommands.Add(VerifyCommand.Build());
root.Subcommands.Add(ResOdeProofs.Cli.Report.ReportCommand.Build());
root.Subcommands.Add(FashionCommand.Build());
root.Subcommands.Add(BenchCommand.Build());
root.Subcommands.Add(ResOdeProofs.Cli.Sweep.SweepCommand.Build());
return root.Parse(args).Invoke();
