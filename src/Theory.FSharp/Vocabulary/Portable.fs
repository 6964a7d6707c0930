/// The theory layer's own exp, log, log10 and powers, with the same bits on every platform: FSharp.Core's exp, log and
/// `**` call the platform's C library (`Math.Exp`, `Math.Log`, `Math.Pow`), whose last bits differ between glibc, the
/// Windows CRT and Apple's libm, so a verdict's bound or fitted order could differ in its last digits between platforms
/// for the same run. These use the engine's `PortableMath` (correctly rounded but for arguments within 2⁻¹⁰⁰ of a midpoint,
/// docs/run-format.md "The same numbers on every platform") and IEEE products. A source test keeps the platform's out of
/// src/Theory.FSharp.
module ResOdeProofs.Theory.Portable

open ResOdeProofs.Numerics

/// e^x.
let exp (x: float) = PortableMath.Exp x

/// The natural logarithm.
let log (x: float) = PortableMath.Log x

let private ln10 = PortableMath.Log 10.0

/// log₁₀ x as ln x / ln 10 (two roundings more than a correctly rounded log₁₀; its uses are slopes and intercepts of
/// log–log lines, whose comparisons carry their own allowances).
let log10 (x: float) = PortableMath.Log x / ln10

/// x², one rounding (fl(x·x)).
let sq (x: float) = x * x

/// xⁿ for n ≥ 0 by binary exponentiation: relative error at most γ_{n−1} (`PortableMath.PowInt`); exact for powers of two.
let pown (x: float) (n: int) = PortableMath.PowInt(x, n)
