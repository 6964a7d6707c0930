using System.Diagnostics;
using System.Globalization;
using ResOdeProofs.Numerics;
using ResOdeProofs.Numerics.IO;
using ResOdeProofs.Numerics.Model;
using ResOdeProofs.Numerics.Verification;

namespace ResOdeProofs.Bench;

/// <summary>
/// `--lane-probe RUN_DIR [REPEATS] [--as-this-build]`: the observed replay of a run directory (every segment, the observer being the split pass
/// with the centre's step fused, on the engine's kept states: what A.split.centre.segments runs inside E.replay, without the
/// references E.replay computes beside it), REPEATS times in this process; per repeat the wall and the process's CPU, and
/// where each lane spent its wall (<see cref="ReplayLaneTimes"/>), per iterate.
/// </summary>
internal static class LaneProbe
{
    private static double[] EmbeddedInputs(NetworkShape shape, Dataset data, double[]? a)
    {
        int n = data.Count, dim = shape.Dim, dIn = shape.InputDim;
        var h0 = new double[n * dim];
        for (int i = 0; i < n; i++)
            for (int r = 0; r < dim; r++)
            {
                double acc = 0;
                if (a is null) acc = data.X[i * dIn + r];
                else for (int c = 0; c < dIn; c++) acc += a[r * dIn + c] * data.X[i * dIn + c];
                h0[i * dim + r] = acc;
            }
        return h0;
    }

    public static void Run(string dir, int repeats, bool asThisBuild = false)
    {
        var inv = CultureInfo.InvariantCulture;
        var run = RunDirectory.Read(dir);
        // a run trained by the CLI names the CLI's build, which this program's build id (its own assemblies) is not: taken as this
        // build's, the replay runs verify's bit-exact path for a run of the same engine (no companions) instead of the certified one
        if (asThisBuild) run.Meta.EngineBuild = EngineInfo.Build;
        var proc = Process.GetCurrentProcess();
        for (int rep = 0; rep < Math.Max(1, repeats); rep++)
        {
            var act = run.Activation;
            var pass = new SplitPass(run.Shape, act, run.Data.Count, EmbeddedInputs(run.Shape, run.Data, run.A), run.Data.Y, run.B);
            var centre = act == ActivationKind.Gelu ? new CentrePass(run.Shape, act, run.Data.Count) : null;
            if (centre is not null) { pass.FusedCentre = centre; pass.FusedEta = run.Eta; }
            double sink = 0;
            IterateCallback? Observer(int s)
            {
                if (s + 1 >= run.Steps.Length) return null;
                int from = run.Steps[s], until = run.Steps[s + 1];
                return (j, w, v, gw, gv, st) =>
                {
                    if (j == until) return;
                    if (j == from) centre?.Start(w.ToArray(), v.ToArray());
                    if (st.Kept is ResNet<double>.KeptStates kept) pass.EvaluateKept(w, v, gw, gv, kept, withForcing: false);
                    else pass.Evaluate(w, v, gw, gv, withForcing: false);
                    sink += pass.Pairs.EW[0];
                };
            }
            Console.WriteLine($"path: {(Replay.BitExactClaim(run) is string claim ? "bit-exact (" + claim + ")" : "certified (companions)")}, engine {EngineInfo.Build}");
            ReplayLaneTimes.Reset();
            ReplayLaneTimes.Enabled = true;
            proc.Refresh();
            var cpu0 = proc.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            Replay.Run(run, Observer);
            sw.Stop();
            proc.Refresh();
            double cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
            ReplayLaneTimes.Enabled = false;
            var rows = ReplayLaneTimes.Read();
            double iters = rows.First(r => r.Name == "iterates").Ms;
            Console.WriteLine(string.Create(inv, $"repeat {rep + 1}: {Simd.Bits(Simd.Level)}-bit, wall {sw.Elapsed.TotalSeconds:F3} s, process CPU {cpu:F3} s, {iters:F0} iterates (check {sink:E2})"));
            foreach (var (name, ms) in rows)
                if (name is not ("iterates" or "observer jobs"))
                    Console.WriteLine(string.Create(inv, $"  {name,-60} {ms / Math.Max(1, iters),8:F3} ms per iterate"));
        }
    }
}
