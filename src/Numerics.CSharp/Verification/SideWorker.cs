using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// One dedicated thread that runs a job beside the caller: <see cref="Start"/> hands it over, <see cref="Join"/> waits
/// for it (and rethrows the job's exception as it was thrown). With a single processor available (<see cref="ProcessorBudget"/>),
/// or when built with <c>concurrent: false</c>, the job runs on the caller inside <see cref="Start"/>. The kernel width forced on the creating thread
/// (<see cref="Simd.Override"/>, tests) is forced on the worker too, so a job computes what it would on the caller.
/// Nothing is allocated per job.
/// </summary>
internal sealed class SideWorker : IDisposable
{
    private readonly Thread? _thread;
    private readonly SemaphoreSlim _go = new(0), _done = new(0);
    private Action? _job;
    private Exception? _error;
    private volatile bool _stop;
    private bool _pending;

    /// <summary>True when jobs run on a thread of their own.</summary>
    public bool Concurrent => _thread is not null;

    public SideWorker(bool concurrent)
    {
        if (!concurrent || ProcessorBudget.Available < 2) return;
        var level = Simd.Override;
        _thread = new Thread(() =>
        {
            Simd.Override = level;
            while (true)
            {
                _go.Wait();
                if (_stop) return;
                try { _job!(); }
                catch (Exception ex) { _error = ex; }
                _done.Release();
            }
        }) { IsBackground = true, Name = "replay companions" };
        _thread.Start();
    }

    /// <summary>Starts <paramref name="job"/> (one job at a time: <see cref="Join"/> before the next).</summary>
    public void Start(Action job)
    {
        if (_pending) throw new InvalidOperationException("a side job is still running");
        if (_thread is null) { job(); return; }
        _job = job; _error = null; _pending = true;
        _go.Release();
    }

    /// <summary>Waits for the job started last (no-op when none is running); rethrows its exception.</summary>
    public void Join()
    {
        if (!_pending) return;
        _done.Wait();
        _pending = false;
        // the job's own exception, as if it had run on the caller (its type decides the exit code)
        if (_error is Exception ex) { _error = null; System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex).Throw(); }
    }

    public void Dispose()
    {
        if (_thread is null) return;
        if (_pending) { _done.Wait(); _pending = false; }
        _stop = true;
        _go.Release();
        _thread.Join();
    }
}
