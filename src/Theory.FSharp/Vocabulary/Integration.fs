/// The classical fourth-order Runge–Kutta method, written once for every reference solve of the theory layer (the
/// generic results' neural-ODE limit, at a smooth θ⁰(s) and at the piecewise-linear interpolant of the layers). Its
/// order is tested, step and driver: halving the step divides the error at a fixed time by ≈ 2⁴ = 16 on an ODE with a
/// known solution (tests/Properties).
module ResOdeProofs.Theory.Integration

/// One RK4 step of dH/ds = f(s, H) from H(s) to H(s + dt), with the vector field given at the three times the
/// method evaluates it: `atStart` at s, `atMiddle` at s + dt/2 (its two middle stages), `atEnd` at s + dt. Passing
/// the field per time (rather than a time) lets a caller evaluate it at exact nodes, e.g. the interpolated
/// parameters θ(s) of a piecewise-linear function of depth.
let rk4Step (atStart: float[] -> float[]) (atMiddle: float[] -> float[]) (atEnd: float[] -> float[]) (dt: float) (h: float[]) =
    let k1 = atStart h
    let k2 = atMiddle (Array.map2 (fun a b -> a + dt / 2.0 * b) h k1)
    let k3 = atMiddle (Array.map2 (fun a b -> a + dt / 2.0 * b) h k2)
    let k4 = atEnd (Array.map2 (fun a b -> a + dt * b) h k3)
    Array.init h.Length (fun i -> h.[i] + dt / 6.0 * (k1.[i] + 2.0 * k2.[i] + 2.0 * k3.[i] + k4.[i]))

/// `steps` RK4 steps of size dt from h0: the vector field of step q at the fraction 0, 1/2 or 1 of the step is
/// `fieldAt q frac` (evaluated once per stage time), and `observe q h` sees the state after step q. Returns the last state.
let rk4Solve (fieldAt: int -> float -> (float[] -> float[])) (dt: float) (steps: int) (observe: int -> float[] -> unit) (h0: float[]) =
    let mutable h = Array.copy h0
    for q in 0 .. steps - 1 do
        let middle = fieldAt q 0.5
        h <- rk4Step (fieldAt q 0.0) middle (fieldAt q 1.0) dt h
        observe q h
    h
