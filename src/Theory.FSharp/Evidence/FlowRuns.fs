/// Gradient-flow runs (optimizer gf / clipped-gf, docs/run-format.md): output times, the integration's
/// error allowance, and the wrapper that makes a gradient-descent statement not applicable to them.
module ResOdeProofs.Theory.FlowRuns

open ResOdeProofs.Numerics.Verification
open ResOdeProofs.Theory

/// True for a run of the integrated gradient flow (gf or clipped-gf).
let isFlow (run: Run) = FlowReplay.IsFlow run.Data

/// The time of output j: output_times[j] when run.json lists them, else T·j/N, else j·η (`FlowReplay.OutputTime`, the
/// definition the flow replay integrates to).
let time (run: Run) (j: int) = FlowReplay.OutputTime(run.Data, j)

/// Relative error allowance on quantities recorded along a flow run: 2·(steps + 1)·rtol. Each accepted step
/// of the integrator has a local error of at most 1 in the norm weighted by atol + rtol·|y| (≈ rtol relative
/// for the weights), the flow is loss-decreasing so these errors are not amplified to first order, and the
/// quadratic loss doubles a relative error of the outputs. An estimate with a stated factor, not a certificate.
/// (Written once, `FlowReplay.IntegrationRel`: the flow replay's allowance, E.flowReplay, rests on the same reading.)
let integrationRel (run: Run) = FlowReplay.IntegrationRel run.Data.Meta

/// The largest integration allowance a flow statement accepts: 10⁻³ relative, so that a bound is never confused
/// with an integration error (the same fraction as result B's reference solve).
let maxIntegrationRel = FlowReplay.MaxIntegrationRel

/// Hypothesis of the flow statements: the integration allowance 2(steps + 1)·rtol is at most 10⁻³ (gradient-descent
/// runs have none and meet it).
let hypIntegration : string * (Run -> HypothesisCheck) =
    "integration accurate: 2(steps + 1)·rtol ≤ 1e-3",
    fun run ->
        let r = integrationRel run
        if r <= maxIntegrationRel then Met(sprintf "integration allowance %.3g" r)
        else NotMet(sprintf "integration allowance 2(steps + 1)·rtol = %.3g > 1e-3: rtol %g is too loose to tell a bound from an integration error; integrate with a smaller --rtol"
                        r (run.Data.Meta.Rtol.GetValueOrDefault nan))

/// "a gd run", "an adam run": the article as the optimizer's name is read aloud. A name with a vowel is a word, read by
/// its first letter (an adam, a momentum, a clipped-gd); one without is read letter by letter, and the letters f, h, l,
/// m, n, r, s and x begin with a vowel sound (an sgd, a gd, a gf). "this is a adam run" read as a slip.
let private runOf (optimizer: string) =
    let word = optimizer.Split('-').[0].ToLowerInvariant()
    let isVowel (c: char) = "aeiou".IndexOf c >= 0
    let an =
        word.Length > 0
        && (if Seq.exists isVowel word then isVowel word.[0] else "fhlmnrsx".IndexOf word.[0] >= 0)
    sprintf "%s %s run" (if an then "an" else "a") optimizer

/// A gradient-descent statement made not applicable to flow runs: its hypotheses report the flow run as met
/// (nothing to check) and its conclusion returns NotApplicable naming the flow version.
let gdOnly (flowVersion: string) (r: Result<Run>) : Result<Run> =
    { r with
        Hypotheses = r.Hypotheses |> List.map (Hypotheses.mapCheck (fun h run -> if isFlow run then Met "gradient-flow run (not checked)" else h run))
        Conclusion =
            fun run ->
                if isFlow run then Evaluation.notApplicable (sprintf "a statement about gradient descent; this is %s (see %s)" (runOf run.Setting.Optimizer) flowVersion)
                else r.Conclusion run }

/// Makes a flow statement not applicable to gradient-descent runs, as `gdOnly` does for the other kind: on a gradient-descent
/// run its hypotheses report met (nothing to check: whether the run would meet a flow statement's hypotheses says nothing
/// about it, and a "hypothesis not met" there would count a statement that does not apply as one that failed to) and its
/// conclusion returns NotApplicable naming the gradient-descent version; on a flow run both are the statement's own.
let flowOnly (gdVersion: string) (r: Result<Run>) : Result<Run> =
    { r with
        Hypotheses = r.Hypotheses |> List.map (Hypotheses.mapCheck (fun h run -> if isFlow run then h run else Met "gradient-descent run (not checked)"))
        Conclusion =
            fun run ->
                if isFlow run then r.Conclusion run
                else Evaluation.notApplicable (sprintf "a statement about the gradient flow; this is %s (see %s)" (runOf run.Setting.Optimizer) gdVersion) }
