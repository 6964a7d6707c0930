using System.CommandLine;
using ResOdeProofs.Cli;

namespace ResOdeProofs.Cli.Tests;

/// <summary>
/// `resode` builds only the subcommand its command line names (the others cannot parse it): the subcommand built alone
/// must be the same command as in the whole tree, and a line that names none must get the whole tree.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class SubcommandBuildTests
{
    private static readonly string[] Names = ["train", "verify", "report", "fashion", "bench", "bench-conv", "sweep"];

    /// <summary>A command as text: its name, description, options (names, aliases, descriptions), arguments and subcommands, recursively.</summary>
    private static string Shape(Command c) =>
        $"{c.Name}|{c.Description}|{c.Hidden}|" +
        string.Join(";", c.Options.Select(o => $"{o.Name}[{string.Join(",", o.Aliases.Order())}]:{o.Description}:{o.Required}:{o.Hidden}")) + "|" +
        string.Join(";", c.Arguments.Select(a => $"{a.Name}:{a.Description}")) + "|{" +
        string.Join(",", c.Subcommands.Select(Shape)) + "}";

    [Fact(DisplayName = "ResodeApp.Build: each subcommand's name → a root with that subcommand alone, the same command as in the whole tree")]
    public void NamedSubcommandAlone()
    {
        var whole = ResodeApp.Build();
        Assert.Equal(Names, whole.Subcommands.Select(c => c.Name).ToArray());
        foreach (var name in Names)
        {
            var root = ResodeApp.Build(name);
            var only = Assert.Single(root.Subcommands);
            Assert.Equal(name, only.Name);
            Assert.Equal(Shape(whole.Subcommands.Single(c => c.Name == name)), Shape(only));
            Assert.Equal(whole.Description, root.Description);
        }
    }

    [Fact(DisplayName = "ResodeApp.Build: nothing, an option or an unknown word first → every subcommand")]
    public void NoNameEveryCommand()
    {
        foreach (var first in new string?[] { null, "--help", "verfiy", "Verify", "" })
            Assert.Equal(Names, ResodeApp.Build(first).Subcommands.Select(c => c.Name).ToArray());
    }

    [Fact(DisplayName = "resode: verify with an unknown option or no run, help of verify → the same exit code and output as with the whole tree")]
    public void SameOutcomeAsWholeTree()
    {
        using var s = new Scratch();
        foreach (var args in new[] { new[] { "verify", "--no-such-option", "x" }, new[] { "verify" }, new[] { "verify", "--help" }, new[] { "verfiy", "x" } })
        {
            var alone = Cli.Run(s.Dir, args);
            var whole = Cli.Run(s.Dir, ResodeApp.Build(), args);
            Assert.Equal(whole.Code, alone.Code);
            Assert.Equal(whole.Out, alone.Out);
            Assert.Equal(whole.Err, alone.Err);
        }
        // the comparison sees a different command line
        Assert.NotEqual(Cli.Run(s.Dir, "verify", "--help").Out, Cli.Run(s.Dir, "train", "--help").Out);
    }
}
