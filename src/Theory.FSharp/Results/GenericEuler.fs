/// B.bound.tangent: result B for any architecture with the local errors computed to second order and propagated by
/// the products of the block's exact Jacobians along the reference solution (docs/theorems/GenericResults.md,
/// "B.bound.tangent"). The generic form of B.bound.secant and the Taylor-model local error of EulerError.md, taken
/// through the block interface only: Forward (the field and a quadrature over the interpolated layer) and Backward
/// applied to the basis vectors (the Jacobian ∂_hf at a state), with the declared constants for the remainders and one
/// more constant per block, C_hh (`Architecture.StateCurvature`). A block without C_hh keeps B.bound's layer-wise bound.
module ResOdeProofs.Theory.GenericEuler

open System
open MathNet.Numerics.LinearAlgebra
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Theory
open ResOdeProofs.Theory.Comparison

let private doc = "docs/theorems/GenericResults.md"


/// The Jacobian ∂_hf(θ, z) (d×d) of the block at one state, from one Forward and one Backward with the basis vectors
/// as adjoints (a batch of d copies of z: row j of the result is e_jᵀ∂_hf).
let jacobianAt (block: IResidualBlock) (theta: float[]) (z: float[]) : Matrix<float> =
    let d, P = block.StateDim, block.ParameterCount
    let hs = Array.init (d * d) (fun e -> z.[e % d])
    let cache = Array.zeroCreate (block.CacheSize d)
    let out = Array.zeroCreate (d * d)
    BlockCalls.Forward(block, theta, 0, hs, 0, out, cache, d)
    let p = Array.init (d * d) (fun e -> if e / d = e % d then 1.0 else 0.0)
    let gT, gH = Array.zeroCreate P, Array.zeroCreate (d * d)
    BlockCalls.Backward(block, theta, 0, hs, 0, cache, p, 0, gT, gH, d)
    Matrix<float>.Build.DenseOfRowMajor(d, d, gH)

/// A radius the flow started at a state y of norm ny stays within over one layer interval, given travel(ny + δ) ≥ the
/// distance it can cover in that time while it stays in the ball of radius δ around y (a speed bound times h, or the
/// Grönwall value f̄_y(e^{κh} − 1)/κ from ‖f(θ(s), H)‖ ≤ f̄_y + κ‖H − y‖): for δ = 2¹⁰, 2⁹, …, 2⁻²⁰, if travel(ny + δ) ≤ δ
/// the path cannot leave that ball (leaving needs the distance δ), so it stays within ny + travel(ny + δ); the smallest
/// such value, +∞ if no δ qualifies.
let pathRadius (travel: float -> float) (ny: float) =
    seq { for j in -10 .. 20 -> Math.ScaleB(1.0, -j) }
    |> Seq.map (fun delta -> let t = travel (ny + delta) in if t <= delta then ny + t else infinity)
    |> Comparison.minKeepNaN

/// A nonnegative bound whose formula overflowed (0·∞) means no bound: +∞.
let private orInf (x: float) = if Double.IsNaN x then infinity else x

/// The distance the flow can cover in time `len` while its state stays within radius r, for `pathRadius`: the smaller of
/// len·F(r) and the Grönwall value f̄(e^{κ(r)len} − 1)/κ(r) from ‖f(θ(s), H)‖ ≤ f̄ + κ‖H − y‖ (`bounds` r the part bounds at r).
let private travelWithin (arch: Architecture) (bounds: float -> IterateBounds) (fbar: float) (len: float) (r: float) =
    let kr = arch.LipschitzH (bounds r)
    let gron = if kr = 0.0 then fbar * len elif fbar = 0.0 then 0.0 else fbar * (let x = kr * len in if x < 1e-3 then x * (1.0 + x) else Portable.exp x - 1.0) / kr
    min (len * arch.OutputBound (bounds r)) gron

/// The remainder of the local-error model over an interval of length `len` (h² = len², h³ = len³ given):
/// ‖A‖₂(κ̄F̄h³/6 + J‖Δθ‖h²/3) + C_hθ‖Δθ‖F̄h²/6 + C_hhF̄²h³/6 (docs/theorems/GenericResults.md, "Local error"; 0·∞ = 0).
let private remainderA (aNorm: float) (kbar: float) (fbar: float) (jy: float) (dth: float) (cHT: float) (chh: float) (h2: float) (h3: float) =
    let zeroIf0 (x: float) (y: float) = GluBlock.mul x y
    aNorm * (kbar * fbar * h3 / 6.0 + zeroIf0 jy dth * h2 / 3.0)
    + zeroIf0 cHT dth * fbar * h2 / 6.0
    + zeroIf0 chh (fbar * fbar) * h3 / 6.0

/// One sample at one snapshot: measured ‖h_L^i − H̃_L^i‖ (H̃ the RK4 reference), the bound of B.bound.tangent, B.bound's
/// layer-wise bound on the same sample, the integration error estimate of H̃_L^i, and the parts of the new bound:
/// Σ_k π_k τ̄_k with π_k = ‖J_L⋯J_{k+1}‖₂, the largest π_0, the largest Π_{j}(1 + κ_j/L), and Σ_k τ̄_k against Σ_k τ_k (old).
type JacobianSample =
    { Sample: int
      Measured: float
      Bound: float
      LayerwiseBound: float
      IntegrationError: float
      /// π_0 = ‖J_L⋯J_1‖₂ and the product of the factors 1 + κ_k/L it replaces
      Propagation: float
      PropagationOld: float
      /// Σ_k of the local-error bounds (new: min(Taylor model, old) + δ_k) and of B.bound's τ_k
      LocalSum: float
      LocalSumOld: float
      /// true when the block declares C_hh (else Bound = LayerwiseBound)
      Sharpened: bool
      /// the same sum with the Taylor model on one interval per layer (B.bound.tangent before the sub-intervals)
      BoundOneInterval: float
      /// the rounding of the measured distance (B.bound's, `InterpolantSample.Rounding`: the same h_L and reference solve)
      Rounding: float }

/// The analysis of snapshot s (docs/theorems/GenericResults.md, "B.bound.tangent"), with the ResNet's error scaled by c
/// (c = 1: the run itself; c ≠ 1 is the mutation of the tests: h_L replaced by H̃_L + c(h_L − H̃_L)).
/// `curvature` is the block's C_hh (`Architecture.StateCurvature`); None gives the fallback, B.bound's layer-wise bound.
let analyseWith (curvature: (IterateBounds -> float) option) (c: float) (run: Run) (s: int) : JacobianSample[] =
    let arch = run.Architecture.Value
    let block = match run.Data.Block with | null -> failwith "the architecture is not registered in the engine" | b -> b
    let old = (GenericResults.interpolantChecks run).[s]
    let st = run.Setting
    let L, n, d, P = st.Depth, st.Samples, st.Dim, run.ParameterCount
    let fL = float L
    let h = 1.0 / fL
    let theta = run.Theta s
    let solves = GenericResults.referenceSolves run s
    let hs, nodes, nodes2 = solves.States, solves.Nodes, solves.NodesFine
    let measuredOf i =
        let raw = Linalg.frobeniusDiff hs ((L * n + i) * d) nodes.[L] (i * d) d
        c * raw
    match curvature with
    | None ->
        old |> Array.map (fun o ->
            { Sample = o.Sample; Measured = measuredOf o.Sample; Bound = o.Bound; LayerwiseBound = o.Bound; IntegrationError = o.IntegrationError
              Propagation = nan; PropagationOld = nan; LocalSum = nan; LocalSumOld = nan; Sharpened = false; BoundOneInterval = o.Bound
              Rounding = o.Rounding })
    | Some chh ->
    // layer k (1-based; θ_0 := θ_1) and its part norms
    let layer k = let k = max 1 k - 1 in theta.[k * P .. k * P + P - 1]
    let bounds = GenericResults.layerPairBounds run (GenericResults.layerPartNorms run theta)
    let forward (t: float[]) (y: float[]) =
        let o = Array.zeroCreate (n * d)
        BlockCalls.Forward(block, t, 0, y, 0, o, Array.zeroCreate (block.CacheSize n), n)
        o
    let N = OdeLimit.QuadratureNodes
    // per layer, for all samples at once: f_y = f(θ_k, y) and the quadrature Q̂ = (h/N) Σ_i [f(θ(t_i), y) − f_y], y = H̃_{k−1}
    let fy = Array.zeroCreate (L + 1)
    let quad = Array.zeroCreate (L + 1)
    let dTheta = Array.zeroCreate (L + 1)
    for k in 1 .. L do
        let tk, tp = layer k, layer (k - 1)
        let y = nodes.[k - 1]
        let f0 = forward tk y
        fy.[k] <- f0
        dTheta.[k] <- Linalg.frobeniusDiff tk 0 tp 0 P
        let acc = Array.zeroCreate (n * d)
        if dTheta.[k] > 0.0 then
            for i in 0 .. N - 1 do
                let fr = (float i + 0.5) / float N
                let ti = Array.init P (fun j -> tp.[j] + fr * (tk.[j] - tp.[j]))
                let fi = forward ti y
                for e in 0 .. n * d - 1 do acc.[e] <- acc.[e] + (fi.[e] - f0.[e]) * h / float N
        quad.[k] <- acc
    // one sample's image f(θ, x) (a batch of one) into `o`, θ = t[offset .. offset + P − 1], with the block's cache `cache`
    // (CacheSize 1)
    let forward1 (t: float[]) (offset: int) (x: float[]) (o: float[]) (cache: float[]) =
        BlockCalls.Forward(block, t, offset, x, 0, o, cache, 1)
    // The parameters the p sub-intervals of layer k read, formed once per layer and p and shared by the samples: `Ends`
    // holds θ(c_i) = θ_{k−1} + c_i(θ_k − θ_{k−1}), c_i = i/p, at i·P for i = 0..p (θ_{k−1} and θ_k themselves at 0 and p; also
    // apart, one array each),
    // `Nodes` the midpoint rule's parameters of part i at ((i − 1)N + j)·P, θ(c_{i−1}) + ((j + 1/2)/N)(θ(c_i) − θ(c_{i−1})).
    let partThetas = Collections.Generic.Dictionary<struct (int * int), struct (float[] * float[][] * float[])>()
    let thetasOf k p =
        match partThetas.TryGetValue(struct (k, p)) with
        | true, a -> a
        | _ ->
            let tk, tp = layer k, layer (k - 1)
            let endsOf = Array.init (p + 1) (fun i -> if i = 0 then tp elif i = p then tk else Array.init P (fun j -> tp.[j] + float i / float p * (tk.[j] - tp.[j])))
            let ends = Array.concat endsOf
            let nodesT = Array.zeroCreate (p * N * P)
            for i in 1 .. p do
                for j in 0 .. N - 1 do
                    let fr = (float j + 0.5) / float N
                    for c in 0 .. P - 1 do
                        let a, b = ends.[(i - 1) * P + c], ends.[i * P + c]
                        nodesT.[((i - 1) * N + j) * P + c] <- a + fr * (b - a)
            let r = struct (ends, endsOf, nodesT)
            partThetas.[struct (k, p)] <- r
            r
    // The Taylor model of layer k's local error on p sub-intervals from the sample's node y (docs/theorems/GenericResults.md,
    // "Sub-intervals"): each part is the one-interval model of length h' = h/p between θ(c_{i−1}) and θ(c_i), started at the
    // computed x_{i−1}; x_i = x_{i−1} + h'f(θ(c_i), x_{i−1}) + ĉ_i and the exact flow's state stays within
    // e_i = e^{κ_i h'}e_{i−1} + (the part's quadrature and remainder bounds), κ_i the Lipschitz constant on a ball holding
    // both trajectories (radius max(r̄, the part's own path radius), r̄ = `hbar` of the whole layer from y). Returns
    // ‖x_p − y − h f_y‖ + e_p.
    let substeps (chh: IterateBounds -> float) (k: int) (p: int) (y: float[]) (fyS: float[]) (hbar: float) =
        let struct (ends, endsOf, nodesT) = thetasOf k p
        let hp = h / float p
        let pL = float p * fL
        let fx, fj, cache = Array.zeroCreate d, Array.zeroCreate d, Array.zeroCreate (block.CacheSize 1)
        let mutable x = y
        let mutable e = 0.0
        for i in 1 .. p do
            let tb = endsOf.[i]
            let nx = Linalg.norm x
            let b0 = bounds k nx
            forward1 ends (i * P) x fx cache
            let dth = Linalg.frobeniusDiff ends (i * P) ends ((i - 1) * P) P
            let jy = arch.LipschitzTheta b0
            let fbarY = Linalg.norm fx + (if dth = 0.0 then 0.0 else jy * dth)
            let hbarI = pathRadius (travelWithin arch (bounds k) fbarY hp) nx
            let bb = bounds k hbarI
            let kbar, fA = arch.LipschitzH bb, arch.OutputBound bb
            let a = jacobianAt block tb x
            let cTT =
                match arch.ThetaThetaAtState with
                | Some at -> at b0 { Theta = ends; First = (i - 1) * P; Second = i * P; State = x; StateOffset = 0 }
                | None -> fst (arch.SecondDerivatives b0)
            let cHT = snd (arch.SecondDerivatives b0)
            let fbar = min fA (fbarY * Portable.exp (kbar * hp))
            let q = Array.zeroCreate d
            if dth > 0.0 then
                for j in 0 .. N - 1 do
                    forward1 nodesT (((i - 1) * N + j) * P) x fj cache
                    for r in 0 .. d - 1 do q.[r] <- q.[r] + (fj.[r] - fx.[r]) * hp / float N
            let cvec = (a * Vector<float>.Build.DenseOfArray fx) * (0.5 * hp * hp) + Vector<float>.Build.DenseOfArray q
            let zeroIf0 (u: float) (v: float) = GluBlock.mul u v
            let quadErr = zeroIf0 cTT (dth * dth) / (24.0 * pL * float (N * N))
            let aNorm = Linalg.spectralUpper d d (a.ToRowMajorArray()) 0
            let rA = remainderA aNorm kbar fbar jy dth cHT (chh bb) (hp * hp) (hp * hp * hp)
            let kappa = arch.LipschitzH (bounds k (max hbar hbarI))
            e <- orInf (zeroIf0 (Portable.exp (kappa * hp)) e + quadErr + rA)
            x <- Array.init d (fun r -> x.[r] + fx.[r] * hp + cvec.[r])
        orInf (Linalg.norm (Array.init d (fun r -> x.[r] - y.[r] - fyS.[r] * h)) + e)
    Array.init n (fun i ->
        let sl (a: float[]) = a.[i * d .. i * d + d - 1]
        let eps k = Linalg.frobeniusDiff nodes.[k] (i * d) nodes2.[k] (i * d) d
        let jac = Array.zeroCreate (L + 1)
        let tau = Array.zeroCreate (L + 1)
        let tauOne = Array.zeroCreate (L + 1)
        let tauOld = Array.zeroCreate (L + 1)
        let kap = Array.zeroCreate (L + 1)
        for k in 1 .. L do
            let y = sl nodes.[k - 1]
            let ny = Linalg.norm y
            let a = jacobianAt block (layer k) y
            jac.[k] <- a
            let b0 = bounds k ny
            let jy = arch.LipschitzTheta b0
            let dth = dTheta.[k]
            let fyv = Vector<float>.Build.DenseOfArray(sl fy.[k])
            // ‖f(θ(s), y)‖ ≤ ‖f_y‖ + J‖θ(s) − θ_k‖ ≤ f̄_y on the interval; within ‖H − y‖ ≤ δ the speed is ≤ f̄_y + κ(‖y‖ + δ)δ
            let fbarY = fyv.L2Norm() + (if dth = 0.0 then 0.0 else jy * dth)
            let hbar = pathRadius (travelWithin arch (bounds k) fbarY h) ny
            let bb = bounds k hbar
            let kbar, jbar, fA = arch.LipschitzH bb, arch.LipschitzTheta bb, arch.OutputBound bb
            kap.[k] <- kbar
            let cTT =
                match arch.ThetaThetaAtState with
                | Some at when k > 1 -> at b0 { Theta = theta; First = (k - 2) * P; Second = (k - 1) * P; State = nodes.[k - 1]; StateOffset = i * d }
                | _ -> fst (arch.SecondDerivatives b0)
            let cHT = snd (arch.SecondDerivatives b0)
            let fbar = min fA (fbarY * Portable.exp (kbar * h))
            let cvec = (a * fyv) * (0.5 * h * h) + Vector<float>.Build.DenseOfArray(sl quad.[k])
            let h2, h3 = h * h, h * h * h
            let zeroIf0 (x: float) (y: float) = GluBlock.mul x y
            let quadErr = zeroIf0 cTT (dth * dth) / (24.0 * fL * float (N * N))
            let aNorm = Linalg.spectralUpper d d (a.ToRowMajorArray()) 0
            let rA = remainderA aNorm kbar fbar jy dth cHT (chh bb) h2 h3
            let taylor1 = orInf (cvec.L2Norm() + quadErr + rA)
            let oldTau = orInf (zeroIf0 jbar dth / (2.0 * fL) + zeroIf0 kbar fA / (2.0 * fL * fL))
            tauOld.[k] <- oldTau
            // the same model on sub-intervals where κ̄/L exceeds 1/8 (`Secant.substepCount`; both are bounds: the smaller is used)
            let p = Secant.substepCount L kbar
            let taylor =
                if p = 1 then taylor1
                else
                    min taylor1 (substeps chh k p y (sl fy.[k]) hbar)
            // one-interval integration error of the reference nodes, EstimateMargin (10) times the estimates (as B.bound.secant)
            let dk = EulerError.EstimateMargin * (eps k + GluBlock.mul (Portable.exp (kbar * h)) (eps (k - 1)))
            tau.[k] <- min taylor oldTau + dk
            tauOne.[k] <- min taylor1 oldTau + dk
        // π_k = ‖J_L⋯J_{k+1}‖₂, J_k = I + ∂_hf(θ_k, H̃_{k−1})/L
        let pi = Array.zeroCreate (L + 1)
        let ident = Matrix<float>.Build.DenseIdentity d
        let mutable m = ident
        pi.[L] <- 1.0
        for k in L .. -1 .. 1 do
            m <- m * (ident + jac.[k] / fL)
            pi.[k - 1] <- Linalg.spectralUpper d d (m.ToRowMajorArray()) 0
        // ε_k ≥ ‖h_k − H̃_k‖ forward (for the linearization remainder C_hh ε²/(2L)), and the bound Σ_k π_k(τ̄_k + C_hh ε_{k−1}²/(2L))
        let mutable e = 0.0
        let mutable bound = 0.0
        // the same sum with the one-interval local errors (the statement before the sub-intervals), its own ε chain
        let mutable boundOne = 0.0
        let mutable eOne = 0.0
        for k in 1 .. L do
            let y = sl nodes.[k - 1]
            let jn = Linalg.spectralUpper d d ((ident + jac.[k] / fL).ToRowMajorArray()) 0
            let step (e: float) (t: float) =
                let bk = bounds k (Linalg.norm y + e)
                let rem = if e = 0.0 then 0.0 else orInf (GluBlock.mul (chh bk) (e * e) / (2.0 * fL))
                let viaJ = jn * e + rem + t
                let viaKappa = orInf ((1.0 + arch.LipschitzH bk / fL) * e) + t
                rem, min viaJ viaKappa
            let rem, eNext = step e tau.[k]
            bound <- bound + pi.[k] * (tau.[k] + rem)
            e <- eNext
            let remOne, eOneNext = step eOne tauOne.[k]
            boundOne <- boundOne + pi.[k] * (tauOne.[k] + remOne)
            eOne <- eOneNext
        let o = old |> Array.find (fun o -> o.Sample = i)
        { Sample = i; Measured = measuredOf i; Bound = orInf bound; LayerwiseBound = o.Bound; IntegrationError = eps L
          Propagation = pi.[0]
          PropagationOld = seq { for k in 1 .. L -> 1.0 + kap.[k] / fL } |> Seq.fold (*) 1.0
          LocalSum = Array.sum tau.[1..]; LocalSumOld = Array.sum tauOld.[1..]; Sharpened = true; BoundOneInterval = orInf boundOne
          Rounding = o.Rounding })

/// The analysis of snapshot s with the block's own C_hh and the error scaled by c. An activation without a bounded σ''
/// (relu: its slope jumps) makes every C_hh built from s2 infinite, which claims nothing: such a run takes the fallback, as a
/// block without C_hh does (a user's relu run read "no finite bound claimed: the bound is Infinity … (it overflowed)").
let analyseScaled (c: float) (run: Run) (s: int) =
    let bounded = match run.Setting.S2 with Some s2 -> Double.IsFinite s2 | None -> false
    analyseWith (if bounded then run.Architecture.Value.StateCurvature else None) c run s

let private cache = Runtime.CompilerServices.ConditionalWeakTable<Run, JacobianSample[][]>()

/// Every snapshot of a run, computed once.
let analyse (run: Run) = cache.GetValue(run, fun r -> Array.init r.SnapshotCount (analyseScaled 1.0 r))

/// The verdict of a bound on analysed snapshots: `boundOf` selects it (the new bound, or B.bound's layer-wise bound on the
/// same measured values, for the mutation tests); every sample of every snapshot compared, the integration error added.
let conclusionOf (boundOf: JacobianSample -> float) (run: Run) (all: JacobianSample[][]) : Evaluation =
    // the measured distance's own rounding on top, as B.bound allows it: where the residual branch is tiny the distance is
    // only rounding (a gated block with output scale 10⁻⁶ was violated at 3.2·10⁻¹⁵ against a bound of 8.9·10⁻¹⁸)
    let cmp = GenericResults.comparingWith run (fun (x: JacobianSample) -> x.Sample) (fun x -> x.Measured) (fun x -> x.IntegrationError + x.Rounding)
    let e, _, _ = OdeLimit.compareAll cmp boundOf (GenericResults.snapshotsOf run all)
    let flat = all |> Array.collect id
    let worstTight f = flat |> Array.filter (fun x -> not (x.Measured <= 0.0)) |> Array.map (fun x -> f x / x.Measured) |> Comparison.maxKeepNaNOr 0.0
    let maxOf f = flat |> Array.map f |> Comparison.maxKeepNaNOr 0.0
    { e with
        Constants =
            [ "worst tightness, B.bound.tangent (bound / measured)", worstTight (fun x -> x.Bound)
              "worst tightness, B.bound's layer-wise bound (same samples)", worstTight (fun x -> x.LayerwiseBound)
              "worst tightness, local errors on one interval per layer (same samples)", worstTight (fun x -> x.BoundOneInterval)
              "max_i pi_0 = |J_L...J_1|_2 (Jacobian products)", maxOf (fun x -> x.Propagation)
              "max_i prod_k (1 + kappa_k/L) (B.bound's factor)", maxOf (fun x -> x.PropagationOld)
              "max_i sum_k of the local-error bounds", maxOf (fun x -> x.LocalSum)
              "max_i sum_k of B.bound's local terms", maxOf (fun x -> x.LocalSumOld) ]
        Notes =
            [ Evaluation.AnyWeights
              (if flat |> Array.forall (fun x -> x.Sharpened) then "the block declares C_hh: local errors to second order, Jacobian products"
               else "no finite C_hh (the block declares none, or σ'' is unbounded, as relu's): B.bound's layer-wise bound is used (fallback)") ] }

/// (B.bound.tangent) ResNet vs the neural ODE of its own layers at every snapshot, local errors to second order
/// propagated by the products of the block's Jacobians along the reference solution.
let eulerBoundTangent : Result<Run> =
    OdeLimit.propagatedResult GenericResults.family "tangent" "products of tangent Jacobians"
        ("J_k = I + ∂_hf(θ_k, H̃_{k−1})/L (the block's Backward on the basis vectors) and ‖r_k‖ ≤ C_hh‖ẽ_{k−1}‖²/(2L), C_hh the block's bound "
         + "on the Lipschitz constant of ∂_hf in h, ‖ẽ_k‖ bounded forward by the same recursion in norms (a block without C_hh keeps "
         + "B.bound's layer-wise bound)")
        [ GenericResults.hypArchitecture; GenericResults.hypFiniteParameters; Hypotheses.hasSnapshots ]
        (fun run -> conclusionOf (fun x -> x.Bound) run (analyse run))

/// The results of this file.
let all : Result<Run> list = [ eulerBoundTangent ]
