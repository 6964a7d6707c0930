namespace ResOdeProofs.Sweep.Tests;

public sealed class StudyArraySizeTests
{
    [Theory(DisplayName = "sweep run: a cell whose weights exceed one array (an MLP layer or L·m·d, a block's snapshots) → exit 2 when the study is read, naming the cell, no cell started")]
    // (a layer of 2md = 3.2·10¹⁰ parameters is refused before L·m·d is formed: the block's sizes are checked when it is made)
    [InlineData("depth = 1000000000\nwidth = 1000000000\n", "2md parameters per layer")]
    [InlineData("depth = 1000000\nwidth = 100\nd = 100\n", "entries per weight tensor")]
    [InlineData("arch = \"one-layer\"\ndepth = 1000000000\nd = 64\n", "more than one .NET array holds")]
    public void A_cell_too_large_for_one_array_is_refused_when_the_study_is_read(string grid, string expect)
    {
        string root = Cli.TempDir("too-large");
        try
        {
            string study = Path.Combine(root, "s.toml");
            File.WriteAllText(study, "name = \"too-large\"\n[grid.big]\n" + grid);
            string out_ = Path.Combine(root, "out");
            var r = Cli.Run(root, "sweep", "run", study, "--out", out_, "--jobs", "1");
            Assert.True(r.Exit == 2, r.ToString());
            Assert.Contains("cell big", r.Err);
            Assert.Contains(expect, r.Err);
            Assert.DoesNotContain("   at ", r.Err);
            Assert.False(Directory.Exists(Path.Combine(out_, "cells")) && Directory.EnumerateFileSystemEntries(Path.Combine(out_, "cells")).Any(), "a cell was started");
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
