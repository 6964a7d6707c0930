using ResOdeProofs.Numerics.Ode;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// What <see cref="IStageObserver"/> shows of an integration (the flow's split statements rest on it): the stages of every
/// accepted step recombine into the accepted state, the last stage of a Dormand–Prince step is the accepted state bit for bit
/// (FSAL), rejected steps are reported and then superseded, and an observer changes no number of the solve.
/// </summary>
public class StageObserverTests
{
    /// <summary>Keeps each stage's state and field (the last ones reported under each index) and checks every accepted step.</summary>
    private sealed class Recorder(int n) : IStageObserver
    {
        public readonly double[][] Y = Enumerable.Range(0, 7).Select(_ => new double[n]).ToArray();
        public readonly double[][] K = Enumerable.Range(0, 7).Select(_ => new double[n]).ToArray();
        public readonly double[] H = new double[7];
        public int Accepted, StagesReported, FsalMismatches;
        public double WorstRecombination;
        public readonly List<double> Times = new();

        public void Stage(int i, double t, double h, ReadOnlySpan<double> y, ReadOnlySpan<double> field)
        {
            y.CopyTo(Y[i]); field.CopyTo(K[i]); H[i] = h; StagesReported++;
        }

        void IStageObserver.Accepted(double t, double h, ButcherTableau tab, ReadOnlySpan<double> yNew)
        {
            Accepted++;
            Times.Add(t + h);
            int s = tab.Stages;
            for (int i = 1; i < s; i++) Assert.Equal(h, H[i]);
            for (int j = 0; j < yNew.Length; j++)
            {
                // y_n + h·Σ b_i k_i with the stages reported: the accepted state up to the rounding of that sum
                double acc = 0, mag = Math.Abs(Y[0][j]);
                for (int i = 0; i < s; i++) { acc += tab.B[i] * K[i][j]; mag += Math.Abs(h * tab.B[i] * K[i][j]); }
                double dev = Math.Abs(Y[0][j] + h * acc - yNew[j]) / Math.Max(mag, double.Epsilon);
                WorstRecombination = Math.Max(WorstRecombination, dev);
                if (tab.Fsal && Y[s - 1][j] != yNew[j]) FsalMismatches++;
            }
            if (tab.Fsal) { (Y[0], Y[s - 1]) = (Y[s - 1], Y[0]); (K[0], K[s - 1]) = (K[s - 1], K[0]); }
        }
    }

    [Fact(DisplayName = "IStageObserver: Dormand–Prince on the rotation with rejections → every accepted step recombines from its reported stages, FSAL's last stage is the accepted state bit for bit, the solve unchanged")]
    public void StagesRecombine()
    {
        var p = OdeProblem.Rotation;
        var rec = new Recorder(p.Y0.Length);
        var outs = new[] { 1.0, 2.5, 4.0 };
        // at this tolerance the controller rejects some steps (asserted below): their stages are reported, then superseded
        var plain = OdeSolver.Integrate(p.F, p.T0, p.T1, p.Y0, 1e-9, 1e-12, ButcherTableau.DormandPrince54, outs);
        var seen = OdeSolver.Integrate(p.F, p.T0, p.T1, p.Y0, 1e-9, 1e-12, ButcherTableau.DormandPrince54, outs, observer: rec);
        Assert.Equal(plain.Final, seen.Final);
        Assert.Equal(plain.Steps, rec.Accepted);
        // the initial stage, six stages per attempted step (accepted or rejected)
        Assert.Equal(1 + 6 * (seen.Steps + seen.Rejected), rec.StagesReported);
        Assert.Equal(0, rec.FsalMismatches);
        Assert.True(seen.Rejected > 0, "no rejected step: the test would not see stages superseded");
        // a sum of 7 products and one more product and sum: within 9 roundings of the magnitudes
        Assert.True(rec.WorstRecombination <= 9 * 1.1102230246251565e-16, $"worst {rec.WorstRecombination:E3}");
        Assert.Contains(rec.Times, t => t == 2.5);
    }

    [Fact(DisplayName = "IStageObserver: control → a recorder that drops one stage's field (k_3 = 0) no longer recombines into the accepted state")]
    public void DroppedStageIsSeen()
    {
        var p = OdeProblem.Rotation;
        var rec = new ZeroingRecorder(p.Y0.Length);
        OdeSolver.Integrate(p.F, p.T0, p.T1, p.Y0, 1e-9, 1e-12, ButcherTableau.DormandPrince54, null, observer: rec);
        Assert.True(rec.Inner.WorstRecombination > 1e-6, $"worst {rec.Inner.WorstRecombination:E3}");
    }

    private sealed class ZeroingRecorder(int n) : IStageObserver
    {
        public readonly Recorder Inner = new(n);
        public void Stage(int i, double t, double h, ReadOnlySpan<double> y, ReadOnlySpan<double> field) =>
            ((IStageObserver)Inner).Stage(i, t, h, y, i == 2 ? new double[field.Length] : field);
        public void Accepted(double t, double h, ButcherTableau tab, ReadOnlySpan<double> yNew) => ((IStageObserver)Inner).Accepted(t, h, tab, yNew);
    }

    /// <summary>An observer that raises at its third stage and counts every call it is given.</summary>
    private sealed class Throwing : IFlowObserver
    {
        public int Calls;
        public void Stage(int i, double t, double h, ReadOnlySpan<double> y, ReadOnlySpan<double> field)
        {
            if (++Calls == 3) throw new InvalidOperationException("observer bug");
        }
        public void Accepted(double t, double h, ButcherTableau tableau, ReadOnlySpan<double> yNew) => Calls++;
        public void Output(int j, ReadOnlySpan<double> y) => Calls++;
        public void Evaluated(object? kept) => Calls++;
    }

    [Fact(DisplayName = "GuardedFlowObserver: an observer raising at its third stage → the solve goes on unchanged, the exception handed over once, nothing more told to the observer")]
    public void GuardedObserverFailureStaysItsOwn()
    {
        var p = OdeProblem.Rotation;
        var inner = new Throwing();
        var errors = new List<Exception>();
        var guarded = new GuardedFlowObserver(inner, errors.Add);
        var plain = OdeSolver.Integrate(p.F, p.T0, p.T1, p.Y0, 1e-9, 1e-12, ButcherTableau.DormandPrince54);
        var seen = OdeSolver.Integrate(p.F, p.T0, p.T1, p.Y0, 1e-9, 1e-12, ButcherTableau.DormandPrince54, observer: guarded);
        Assert.Equal(plain.Final, seen.Final);
        Assert.Equal(plain.Steps, seen.Steps);
        Assert.Single(errors);
        Assert.Equal("observer bug", errors[0].Message);
        Assert.True(guarded.Failed);
        Assert.Equal(3, inner.Calls);
    }
}
