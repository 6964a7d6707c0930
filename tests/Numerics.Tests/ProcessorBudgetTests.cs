using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

public sealed class ProcessorBudgetTests
{
    [Fact(DisplayName = "ProcessorBudget: a limit of one processor → the replay's side thread runs its jobs on the caller, threads started inside see the limit, and it ends with its scope")]
    public void A_limit_of_one_processor_keeps_the_side_jobs_on_the_caller()
    {
        Assert.True(Environment.ProcessorCount >= 2, "the test machine has two processors");
        int caller = Environment.CurrentManagedThreadId;
        // control: without a limit the side thread is a thread of its own
        using (var free = new SideWorker(concurrent: true))
        {
            int ran = caller;
            free.Start(() => ran = Environment.CurrentManagedThreadId);
            free.Join();
            Assert.True(free.Concurrent);
            Assert.NotEqual(caller, ran);
        }
        using (ProcessorBudget.Limit(1))
        {
            Assert.Equal(1, ProcessorBudget.Available);
            using var side = new SideWorker(concurrent: true);
            int ran = -1;
            side.Start(() => ran = Environment.CurrentManagedThreadId);
            side.Join();
            Assert.False(side.Concurrent);
            Assert.Equal(caller, ran);
            int seen = 0;
            var t = new Thread(() => seen = ProcessorBudget.Available);
            t.Start(); t.Join();
            Assert.Equal(1, seen);
            // a limit above the machine's is the machine's
            using (ProcessorBudget.Limit(4 * Environment.ProcessorCount)) Assert.Equal(Environment.ProcessorCount, ProcessorBudget.Available);
            Assert.Equal(1, ProcessorBudget.Available);
        }
        Assert.Equal(Environment.ProcessorCount, ProcessorBudget.Available);
    }
}
