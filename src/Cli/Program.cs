return ResOdeProofs.Cli.ResodeApp.Run(args);
