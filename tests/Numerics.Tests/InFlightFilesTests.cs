using ResOdeProofs.Numerics.IO;
using Xunit;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The temporaries being written are listed, so that a process ended by a signal (the command line's fallback, which runs no
/// writer's clean-up) deletes them and nothing else; a write through a temporary leaves the former file on a failure.
/// </summary>
[Collection(nameof(InFlightFilesTests))]
public sealed class InFlightFilesTests
{
    [Fact(DisplayName = "InFlightFiles: a signal's clean-up in the middle of a write → the temporary deleted, the former file intact, a user's file kept")]
    public void TheCleanUpDuringAWriteDeletesOnlyTheTemporary()
    {
        using var t = new NpyTestUtil();
        var target = t.File("verdicts.json");
        File.WriteAllText(target, "former");
        var mine = t.File("notes.tmp-12345678");   // a user's file named like a temporary: never listed, never deleted
        File.WriteAllText(mine, "user");
        int deleted = -1;
        var ex = Record.Exception(() => InFlightFiles.WriteTextThrough(target, "new"));
        Assert.Null(ex);
        Assert.Equal("new", File.ReadAllText(target));
        // the clean-up while the temporary is open and half written: it is deleted, and the rename then finds nothing
        Assert.ThrowsAny<IOException>(() => InFlightFiles.WriteThrough(target, s =>
        {
            s.WriteByte((byte)'x');
            deleted = InFlightFiles.DeleteAll();
        }));
        Assert.Equal(1, deleted);
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal("user", File.ReadAllText(mine));
        Assert.Equal(new[] { "notes.tmp-12345678", "verdicts.json" }, Directory.GetFiles(t.Dir).Select(Path.GetFileName).Order().ToArray());
        // nothing stays listed after the writes: a later clean-up deletes nothing
        Assert.Equal(0, InFlightFiles.DeleteAll());
    }

    [Fact(DisplayName = "InFlightFiles: a write that fails → the former file intact and no temporary left")]
    public void AFailedWriteLeavesTheFormerFileAndNoTemporary()
    {
        using var t = new NpyTestUtil();
        var target = t.File("checkpoint.bin");
        File.WriteAllText(target, "former");
        Assert.Throws<InvalidOperationException>(() => InFlightFiles.WriteThrough(target, s => { s.WriteByte(1); throw new InvalidOperationException("disk full"); }));
        Assert.Equal("former", File.ReadAllText(target));
        Assert.Single(Directory.GetFiles(t.Dir));
        Assert.Equal(0, InFlightFiles.DeleteAll());
    }
}

/// <summary>The clean-up deletes every listed temporary of the process: these tests run alone, after the parallel ones, so
/// that no other test's write is in flight when they call it.</summary>
[CollectionDefinition(nameof(InFlightFilesTests), DisableParallelization = true)]
public sealed class InFlightFilesCollection { }
