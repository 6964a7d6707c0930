/// The constant probe over the whole catalog (docs/extending.md, "Probe the constants"): for every architecture of
/// the theory registry that the engine's BlockCatalog can build, the declared constants κ, J, F, C_θθ, C_hθ are
/// compared with the engine's exact Jacobians (the block's own Backward applied to the basis vectors e_j) and with
/// differences of those Jacobians between nearby points. Each constant gets a search for its worst point (a seeded
/// hill climb over θ, h and the displacement, the iterate bounds always taken from the points themselves, so every
/// point is within the stated ranges); the probe reports max measured/declared. A mutation with any one constant
/// halved must fail the probe, and each block's Forward is compared with a naive formula written here.
module ResOdeProofs.Properties.ConstantProbe

open System
open Xunit
open ResOdeProofs.Numerics
open ResOdeProofs.Numerics.Blocks
open ResOdeProofs.Theory

/// A standard normal draw (Box–Muller) from `rng`.
let gaussian (rng: Random) () =
    let u1, u2 = 1.0 - rng.NextDouble(), rng.NextDouble()
    sqrt (-2.0 * log u1) * cos (2.0 * Math.PI * u2)

/// Random parameters of a block: each part i.i.d. normal with a scale drawn from 0.05, 0.3, 1, 2, over √(its size).
let randomTheta (rng: Random) (sizes: int[]) =
    sizes |> Array.collect (fun n -> let s = [| 0.05; 0.3; 1.0; 2.0 |].[rng.Next 4] in Array.init n (fun _ -> gaussian rng () * s / sqrt (float n)))

/// A catalog block's probe shape: its entry, test state dimension and hyper-parameters (as the engine and as a map).
let probeShape (name: string) =
    let entry = BlockCatalog.Find name
    let struct (d0, hyperDict) = entry.TestShape
    entry, d0, hyperDict, (hyperDict |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq)

/// f(θ, h), ∂f/∂h (d×d, row j = e_jᵀ ∂f/∂h) and ∂f/∂θ (d×P, row j = e_jᵀ ∂f/∂θ) at one state, from Forward and Backward.
let jacobians (block: IResidualBlock) (theta: float[]) (h: float[]) =
    let d, P = block.StateDim, block.ParameterCount
    let cache = Array.zeroCreate (block.CacheSize 1)
    let out = Array.zeroCreate d
    BlockCalls.Forward(block, theta, 0, h, 0, out, cache, 1)
    let jh, jt = Array.zeroCreate (d * d), Array.zeroCreate (d * P)
    for j in 0 .. d - 1 do
        let p = Array.zeroCreate d
        p.[j] <- 1.0
        let gT, gH = Array.zeroCreate P, Array.zeroCreate d
        BlockCalls.Backward(block, theta, 0, h, 0, cache, p, 0, gT, gH, 1)
        Array.blit gH 0 jh (j * d) d
        Array.blit gT 0 jt (j * P) P
    out, jh, jt

let private norm (x: float[]) = Linalg.frobenius x 0 x.Length

/// The iterate bounds that cover every θ in `thetas` and every h in `hs` (part norms as the verifier takes them:
/// the block's IPartOperatorNorm bound, else the exact spectral norm of a 2-D part, else the Euclidean norm).
let boundsOf (block: IResidualBlock) (consts: ActivationConstants) (hyper: Map<string, float>) (thetas: float[] list) (hs: float[] list) =
    let layout = block.ParameterLayout |> Seq.toArray
    let sizes = layout |> Array.map (fun struct (_, s) -> Array.fold (*) 1 s)
    let offsets = Array.scan (+) 0 sizes
    let opOf (t: float[]) q =
        match block with
        | :? IPartOperatorNorm as b -> b.OperatorNormBound(q, ReadOnlySpan<float>(t, offsets.[q], sizes.[q]))
        | _ ->
            let struct (_, shape) = layout.[q]
            if shape.Length = 2 then Linalg.spectralNorm shape.[0] shape.[1] t offsets.[q] else Linalg.frobenius t offsets.[q] sizes.[q]
    let over f = layout |> Array.mapi (fun q struct (name, _) -> name, thetas |> List.map (fun t -> f t q) |> List.max) |> Map.ofArray
    { Hidden = hs |> List.map norm |> List.max
      AdjointSum = 1.0
      PartFro = over (fun t q -> Linalg.frobenius t offsets.[q] sizes.[q])
      PartOp = over opOf
      S0 = consts.S0; S1 = consts.S1; S2 = consts.S2.Value
      Dim = block.StateDim; Hyper = hyper }

/// The five constants an Architecture declares, by name.
let constantNames = [ "kappa"; "J"; "F"; "C_thth"; "C_hth" ]

/// A candidate point of the search: θ, h, and the displacements of θ and h used by the two second-order constants.
type Candidate = { Theta: float[]; H: float[]; DTheta: float[]; DH: float[] }

/// The probe's displacement length: large enough that rounding in the Jacobian difference (≈ P·u·J) divided by it stays
/// below 1e-10·J, small enough to stay local; any length gives a valid lower bound on the Lipschitz constant.
let step = 1e-3

let private scaled (x: float[]) (len: float) = let n = norm x in if n = 0.0 then x else Array.map (fun v -> v * len / n) x
let private add (a: float[]) (b: float[]) = Array.map2 (+) a b
let private sub (a: float[]) (b: float[]) = Array.map2 (-) a b

/// (measured, declared) of constant `c` at a candidate.
let measure (arch: Architecture) (block: IResidualBlock) consts hyper (c: string) (x: Candidate) =
    let d, P = block.StateDim, block.ParameterCount
    let f, jh, jt = jacobians block x.Theta x.H
    let b0 = boundsOf block consts hyper [ x.Theta ] [ x.H ]
    match c with
    | "kappa" -> Linalg.spectralNorm d d jh 0, arch.LipschitzH b0
    | "J" -> Linalg.spectralNorm d P jt 0, arch.LipschitzTheta b0
    | "F" -> norm f, arch.OutputBound b0
    | "C_thth" ->
        let t' = add x.Theta (scaled x.DTheta step)
        let _, _, jt' = jacobians block t' x.H
        Linalg.spectralNorm d P (sub jt' jt) 0 / norm (sub t' x.Theta), fst (arch.SecondDerivatives (boundsOf block consts hyper [ x.Theta; t' ] [ x.H ]))
    | _ ->
        let h' = add x.H (scaled x.DH step)
        let _, _, jt' = jacobians block x.Theta h'
        Linalg.spectralNorm d P (sub jt' jt) 0 / norm (sub h' x.H), snd (arch.SecondDerivatives (boundsOf block consts hyper [ x.Theta ] [ x.H; h' ]))

/// Rounding allowance of a comparison: the Jacobians carry ≈ P·u relative error, the difference quotients that error
/// over `step`; 1e-9 of the declared constant plus an absolute 1e-9 covers both for the probe's sizes (P ≤ 100, norms ≤ 10).
let within (measured: float, declared: float) = measured <= declared * (1.0 + 1e-9) + 1e-9

/// measured/declared (0 when both vanish).
let ratio (measured: float, declared: float) = if declared = 0.0 then (if measured <= 1e-9 then 0.0 else infinity) else measured / declared

/// One probe result: the worst ratio found for a constant, and whether every sample stayed within its bound.
type ProbeResult =
    { Constant: string; Tightness: float; Samples: int; AllWithin: bool; PerActivation: (ActivationKind * float) list
      /// per activation: whether every sample of that activation stayed within its bound
      WithinPerActivation: (ActivationKind * bool) list }

/// The activations the probe uses: tanh (s0 = 0, s1 and s2 attained), softplus (s0 = ln 2 > 0, s2 attained) and gelu
/// (s0 = 0, s1 ≈ 1.13 attained at u ≈ 1.41 only, s2 = 2φ(0) at u = 0).
let activations = [ ActivationKind.Tanh; ActivationKind.Softplus; ActivationKind.Gelu ]

/// Probes every constant of `arch` on the engine block `name` (its catalog TestShape): for each activation, `restarts`
/// random starts (part scales from 0 to 2, states of norm 0 to 3, some along a coordinate) and `climb` hill-climbing steps
/// each that keep a perturbation when it raises measured/declared. Every evaluated point counts as a sample.
/// Each constant has a stream of its own, seeded from `seed` and the constant's name (a fixed sum of its characters, not the
/// runtime's per-process string hash): a constant's samples are the same whichever others are probed with it, so the probe
/// of a halved constant alone sees exactly the points of the whole probe, every ratio doubled, and the two tests agree by
/// construction. (With one stream for all five, the halved constant's fresh stream drew other points, and the two tests
/// could contradict each other, as a user adding a block found.)
let probe (arch: Architecture) (name: string) (seed: int) (restarts: int) (climb: int) (constants: string list) : ProbeResult list =
    let entry = BlockCatalog.Find name
    let struct (d0, hyperDict) = entry.TestShape
    let hyper = hyperDict |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq
    constants |> List.map (fun c ->
        let rng = Random(seed * 7919 + (c |> Seq.sumBy int))
        let gauss () = let u1, u2 = 1.0 - rng.NextDouble(), rng.NextDouble() in sqrt (-2.0 * log u1) * cos (2.0 * Math.PI * u2)
        let gaussArr n = Array.init n (fun _ -> gauss ())
        let mutable worst, count, ok, perAct, okAct = 0.0, 0, true, [], []
        for act in activations do
            let mutable worstAct = 0.0
            let mutable within1 = true
            let block = entry.Create.Invoke(d0, act, hyperDict)
            let consts = Activations.Constants act
            let d, P = block.StateDim, block.ParameterCount
            let sizes = block.ParameterLayout |> Seq.map (fun struct (_, s) -> Array.fold (*) 1 s) |> Seq.toArray
            let randomTheta () =
                sizes |> Array.collect (fun n -> let s = [| 0.0; 0.05; 0.3; 1.0; 2.0 |].[rng.Next 5] in Array.map (fun v -> v * s / sqrt (float n)) (gaussArr n))
            let randomH () =
                let r = [| 0.0; 0.3; 1.0; 3.0 |].[rng.Next 4]
                if rng.Next 2 = 0 then scaled (gaussArr d) r else (let e = Array.zeroCreate d in e.[rng.Next d] <- r; e)
            let score x =
                let m = measure arch block consts hyper c x
                count <- count + 1
                if not (within m) then ok <- false; within1 <- false
                ratio m
            for _ in 1 .. restarts do
                let mutable x = { Theta = randomTheta (); H = randomH (); DTheta = gaussArr P; DH = gaussArr d }
                let mutable s = score x
                for k in 1 .. climb do
                    let t = 0.3 * (1.0 - float k / float (climb + 1))
                    let jiggle (v: float[]) = v |> Array.map (fun a -> if rng.Next 3 = 0 then a + t * gauss () * (abs a + 0.1) else a)
                    let y = { Theta = jiggle x.Theta; H = jiggle x.H; DTheta = jiggle x.DTheta; DH = jiggle x.DH }
                    let sy = score y
                    if sy > s then x <- y; s <- sy
                worstAct <- max worstAct s
            worst <- max worst worstAct
            perAct <- perAct @ [ act, worstAct ]
            okAct <- okAct @ [ act, within1 ]
        { Constant = c; Tightness = worst; Samples = count; AllWithin = ok; PerActivation = perAct; WithinPerActivation = okAct })

/// The architectures probed: every registered one that the engine catalog builds.
let probed () = Registry.architectures |> List.filter (fun a -> BlockCatalog.All |> Seq.exists (fun e -> e.Name = a.Name))

/// `arch` with the constant `c` halved (the mutation the probe must catch).
let halve (arch: Architecture) (c: string) : Architecture =
    match c with
    | "kappa" -> { arch with LipschitzH = fun b -> 0.5 * arch.LipschitzH b }
    | "J" -> { arch with LipschitzTheta = fun b -> 0.5 * arch.LipschitzTheta b }
    | "F" -> { arch with OutputBound = fun b -> 0.5 * arch.OutputBound b }
    | "C_thth" -> { arch with SecondDerivatives = fun b -> let a, h = arch.SecondDerivatives b in 0.5 * a, h }
    | _ -> { arch with SecondDerivatives = fun b -> let a, h = arch.SecondDerivatives b in a, 0.5 * h }

let restarts, climb = 4, 40

/// Constants looser than 2x at their worst point on the catalog's test shape, so that no probe can tell them from a
/// 2x understatement: the conv block's second-order constants, whose worst case from ‖h‖ ≤ H alone (patch norm 3H,
/// ρ = (9H² + P)^{1/2}) is not approached on a 2×3×4 image with zero padding (measured tightness 0.32 and 0.32 with
/// this search; 0.44 and 0.30 with 6 restarts × 60 steps; 0.56 and 0.39 on a 1×6×6 image). The main probe fails if this list stops being exactly the constants below 1/2.
let knownLoose = set [ "conv", "C_thth"; "conv", "C_hth" ]

/// Constants within 2x over the three activations together but looser than 2x with one activation alone (measured
/// 2026-12-05 with this search, seed 17, one stream per constant): with GELU the generic |σ(a)| ≤ s0 + s1|a| and |σ'| ≤ s1
/// are far from attained at the random and hill-climbed points (GELU ≈ max(a, 0), s1 ≈ 1.13 only near a ≈ 1.4), softplus'
/// s2 = 1/4 likewise for the MLP's C_θθ, and the GLU's gate (tanh in F). The per-activation probe fails if this list stops
/// being exactly the pairs below 1/2 (every disagreement listed at once); the halved probe sees the same points (one stream
/// per constant), so the two agree by construction. Several sit near 1/2 (0.46–0.49): a change of the search moves them.
let knownLoosePerActivation =
    set [ "mlp", "kappa", ActivationKind.Gelu
          "mlp", "F", ActivationKind.Gelu
          "mlp", "C_thth", ActivationKind.Softplus
          "mlp", "C_thth", ActivationKind.Gelu
          "glu", "kappa", ActivationKind.Gelu
          "glu", "F", ActivationKind.Tanh
          "glu", "C_thth", ActivationKind.Gelu
          "glu", "C_hth", ActivationKind.Gelu ]

[<Fact>]
let ``block constants: every catalog block, exact Jacobians → bounded by the declared constants`` () =
    let archs = probed ()
    Assert.True(archs.Length >= 4, sprintf "probed %d architectures" archs.Length)
    // every disagreement of the run, not the first only (a block's author fixes them in one pass)
    let problems = Collections.Generic.List<string>()
    let check ok (msg: string) = if not ok then problems.Add msg
    let hint = "a Forward or Backward that is wrong can look like a loose constant: first make the block pass BlockEngineTests (the gradient test) and BlockForwardTests, then sharpen the constant or list it with the reason"
    for arch in archs do
        let sw = Diagnostics.Stopwatch.StartNew()
        for r in probe arch arch.Name 17 restarts climb constantNames do
            let byAct = r.PerActivation |> List.map (fun (a, t) -> sprintf "%s %.4f" (Activations.Name a) t) |> String.concat ", "
            printfn "probe %-13s %-7s tightness %.4f over %d samples (%s)" arch.Name r.Constant r.Tightness r.Samples byAct
            check r.AllWithin (sprintf "%s: %s understated (measured/declared %.6g); a wrong Backward can look like this too: run the gradient test first" arch.Name r.Constant r.Tightness)
            check (r.Tightness > 0.0) (sprintf "%s: %s never measured" arch.Name r.Constant)
            check ((r.Tightness <= 0.5) = knownLoose.Contains(arch.Name, r.Constant))
                  (sprintf "%s: %s has tightness %.4f, and knownLoose says otherwise (it lists the constants looser than 2x); %s" arch.Name r.Constant r.Tightness hint)
            if not (knownLoose.Contains(arch.Name, r.Constant)) then
                for act, t in r.PerActivation do
                    check ((t <= 0.5) = knownLoosePerActivation.Contains(arch.Name, r.Constant, act))
                          (sprintf "%s: %s with %s has tightness %.4f, and knownLoosePerActivation says otherwise; %s" arch.Name r.Constant (Activations.Name act) t hint)
        printfn "probe %s: %d ms" arch.Name sw.ElapsedMilliseconds
    Assert.True(problems.Count = 0, String.Join("\n", problems))

[<Fact>]
let ``block constants: any constant understated 2x, each activation alone → probe fails`` () =
    for arch in probed () do
        for c in constantNames |> List.filter (fun c -> not (knownLoose.Contains(arch.Name, c))) do
            let r = probe (halve arch c) arch.Name 17 restarts climb [ c ] |> List.exactlyOne
            Assert.False(r.AllWithin, sprintf "%s with %s halved passed the probe (worst measured/declared %.4g)" arch.Name c r.Tightness)
            for act, ok in r.WithinPerActivation do
                if not (knownLoosePerActivation.Contains(arch.Name, c, act)) then
                    Assert.False(ok, sprintf "%s with %s halved passed the probe with %s alone" arch.Name c (Activations.Name act))

// ---------------------------------------------------------------- F₀ ≥ ‖f(θ, 0)‖ (lemma L1's intercept)

/// (measured, declared) of F₀ at θ: ‖f(θ, 0)‖ from the block's Forward at the zero state, against the architecture's
/// OutputAtZero with θ's own part norms.
let measureF0 (arch: Architecture) (block: IResidualBlock) consts hyper (theta: float[]) =
    let d = block.StateDim
    let zero = Array.zeroCreate d
    let out = Array.zeroCreate d
    BlockCalls.Forward(block, theta, 0, zero, 0, out, Array.zeroCreate (block.CacheSize 1), 1)
    norm out, arch.OutputAtZero (boundsOf block consts hyper [ theta ] [ zero ])

/// The probe of F₀ on the catalog block `name`, per activation: `restarts` random parameter draws (part scales 0 to 2)
/// and `climb` hill-climbing steps each; (worst measured/declared, every sample within) per activation.
let probeF0 (arch: Architecture) (name: string) (seed: int) : (ActivationKind * float * bool) list =
    let entry, d0, hyperDict, hyper = probeShape name
    let rng = Random(seed)
    [ for act in activations do
        let block = entry.Create.Invoke(d0, act, hyperDict)
        let consts = Activations.Constants act
        let sizes = block.ParameterLayout |> Seq.map (fun struct (_, s) -> Array.fold (*) 1 s) |> Seq.toArray
        let draw () =
            sizes |> Array.collect (fun n -> let s = [| 0.0; 0.05; 0.3; 1.0; 2.0 |].[rng.Next 5] in Array.init n (fun _ -> gaussian rng () * s / sqrt (float n)))
        let mutable worst, ok = 0.0, true
        for _ in 1 .. restarts do
            let score t =
                let m = measureF0 arch block consts hyper t
                if not (within m) then ok <- false
                ratio m
            let mutable x = draw ()
            let mutable s = score x
            for k in 1 .. climb do
                let t = 0.3 * (1.0 - float k / float (climb + 1))
                let y = x |> Array.map (fun a -> if rng.Next 3 = 0 then a + t * gaussian rng () * (abs a + 0.1) else a)
                let sy = score y
                if sy > s then x <- y; s <- sy
            worst <- max worst s
        yield act, worst, ok ]

/// F₀ is 0 for every θ on the gated block (f(θ, 0) = V(σ(0) ⊙ U·0) = 0): halving it changes nothing, and the probe
/// checks that ‖f(θ, 0)‖ is 0 at every sample instead.
let f0Zero = set [ "glu" ]

[<Fact>]
let ``F0: every catalog block, random parameters → F₀ ≥ ‖f(θ, 0)‖, attained within 2x with softplus`` () =
    for arch in probed () do
        for act, t, ok in probeF0 arch arch.Name 17 do
            printfn "probe %-13s F0      %-8s tightness %.4f" arch.Name (Activations.Name act) t
            Assert.True(ok, sprintf "%s with %s: F₀ understated (measured/declared %.6g)" arch.Name (Activations.Name act) t)
            // s0 = ln 2 > 0 for softplus: F₀ > 0 unless the block has f(θ, 0) = 0 identically
            if act = ActivationKind.Softplus && not (f0Zero.Contains arch.Name) then
                Assert.True(t > 0.5, sprintf "%s: F₀ with softplus has tightness %.4f (looser than 2x)" arch.Name t)

[<Fact>]
let ``F0: F₀ halved, softplus → the probe fails on every block whose F₀ is not 0`` () =
    for arch in probed () |> List.filter (fun a -> not (f0Zero.Contains a.Name)) do
        let halved = { arch with OutputAtZero = fun b -> 0.5 * arch.OutputAtZero b }
        let _, t, ok = probeF0 halved arch.Name 17 |> List.find (fun (a, _, _) -> a = ActivationKind.Softplus)
        Assert.False(ok, sprintf "%s with F₀ halved passed the probe (worst measured/declared %.4g)" arch.Name t)
