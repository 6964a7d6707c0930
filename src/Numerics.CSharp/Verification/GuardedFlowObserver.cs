using ResOdeProofs.Numerics.Ode;

namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// An observer of the flow replay whose failure stays its own: an exception it raises is handed to
/// <paramref name="failed"/> once and the observer is told nothing more, so the integration (and E.flowReplay, which reads
/// it) goes on as without an observer. The caller reports the failure where the observer's results are read (an
/// <c>error</c> row, not an integration that stopped).
/// </summary>
public sealed class GuardedFlowObserver(IFlowObserver inner, Action<Exception> failed) : IFlowObserver
{
    private bool _failed;

    /// <summary>True once the observer raised.</summary>
    public bool Failed => _failed;

    private void Fail(Exception e)
    {
        _failed = true;
        failed(e);
    }

    public void Stage(int i, double t, double h, ReadOnlySpan<double> y, ReadOnlySpan<double> field)
    {
        if (_failed) return;
        try { inner.Stage(i, t, h, y, field); } catch (Exception e) { Fail(e); }
    }

    public void Accepted(double t, double h, ButcherTableau tableau, ReadOnlySpan<double> yNew)
    {
        if (_failed) return;
        try { inner.Accepted(t, h, tableau, yNew); } catch (Exception e) { Fail(e); }
    }

    public void Output(int j, ReadOnlySpan<double> y)
    {
        if (_failed) return;
        try { inner.Output(j, y); } catch (Exception e) { Fail(e); }
    }

    public void Evaluated(object? kept)
    {
        if (_failed) return;
        try { inner.Evaluated(kept); } catch (Exception e) { Fail(e); }
    }
}
