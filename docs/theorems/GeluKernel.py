"""The error bound of the engine's float64 GELU kernel (ActivationKernels512.Gelu), computed rigorously.

Reads the kernel's coefficients from the source file, so it proves the engine's own numbers, and prints every
constant of docs/theorems/GeluKernel.md. Run: python3 docs/theorems/GeluKernel.py  (mpmath; about a minute).

Every bound below is an upper bound by construction: sup-norms are taken with Taylor models (a polynomial part bounded
on a grid plus its derivative bound times half the spacing, and a remainder bounded through derivative bounds of the
function), rounding errors by worst-case error arithmetic (magnitude bound M and error bound E carried through every
operation), and quantities over t by their monotonicity between grid points. Work precision 80 digits; mpmath's
erfc and exp are far more accurate than the 1e-40 slack added to each sup-norm.
"""
import re
import sys
from pathlib import Path
from mpmath import mp, mpf, erfc, exp, sqrt, pi, log, binomial, factorial, ln

mp.dps = 80
U = mpf(2) ** -53
SLACK = mpf(10) ** -40

src = (Path(__file__).resolve().parents[2] / "src/Numerics.CSharp/Model/ActivationKernels512.cs").read_text()
exp_src = (Path(__file__).resolve().parents[2] / "src/Numerics.CSharp/Activations/ExpPolynomial.cs").read_text()


def consts(prefix, n, text=src):
    out = []
    for k in range(n):
        m = re.search(r"\b%s%d = ([0-9.eE+-]+)" % (prefix, k), text)
        out.append(mpf(float(m.group(1))))  # the double the compiler makes of the literal, exactly
    return out


P = consts("GP", 11)
Q = consts("GQ", 12)
E = consts("E", 11, exp_src)
LN2HI = mpf(float("6.93147180369123816490e-01"))
LN2LO = mpf(float("1.90821492927058770002e-10"))
LOG2E = mpf(float("1.4426950408889634074"))
C_PDF = mpf(float(2 * 0.39894228040143267794))  # fl(2·fl(1/√(2π))), as the C# constant folds it
assert all(c > 0 for c in P + Q), "Horner's bound below needs positive coefficients"


def poly(c, x):
    s = mpf(0)
    for a in reversed(c):
        s = s * x + a
    return s


def gamma(n):
    return n * U / (1 - n * U)


def sup_poly(coef, h, grid=64):
    """sup of |Σ coef[k] s^k| over |s| ≤ h: the grid maximum plus half the spacing times Σ k|coef[k]| h^(k−1)."""
    d = sum(k * abs(c) * h ** (k - 1) for k, c in enumerate(coef) if k > 0)
    best = mpf(0)
    for i in range(grid + 1):
        s = -h + 2 * h * i / grid
        best = max(best, abs(poly(coef, s)))
    return best + (h / grid) * d + SLACK


# ---- Step 1: exp(r) ≈ 1 + r·p(r) on |r| ≤ a --------------------------------------------------------------------------
# The reduced argument: k = round(t·LOG2E) (one FMA onto 1.5·2^52: exact rounding to an integer), t ∈ [−800, 0], so
# |t/ln2 − k| ≤ ½ + 800·|LOG2E − 1/ln2|, and the low part of t² adds |tlo| ≤ 2^-44.
KMAX = 1155  # |k| ≤ 800·log2(e) + ½
a_exact = ln(2) * (mpf(1) / 2 + 800 * abs(LOG2E - 1 / ln(2))) + mpf(2) ** -44
A = ln(2) / 2 * (1 + mpf(2) ** -20)
assert a_exact <= A
# f(r) = (e^r − 1)/r = Σ r^k/(k+1)!; g = p − f is the polynomial Σ (E_k − 1/(k+1)!) r^k minus the tail Σ_{k≥11}.
K = 30
g = [(E[k] if k < 11 else 0) - 1 / factorial(k + 1) for k in range(K + 1)]
tail = sum(A ** k / factorial(k + 1) for k in range(K + 1, K + 40))
# relative error of 1 + r·p against e^r: |r·g(r)|·e^(−r); bound r·g on pieces of [−A, A] with e^(−r) at the piece's left end
pieces = 400
exp_approx = mpf(0)
for i in range(pieces):
    lo_r = -A + 2 * A * i / pieces
    hi_r = lo_r + 2 * A / pieces
    c = (lo_r + hi_r) / 2
    h = (hi_r - lo_r) / 2
    # Taylor coefficients of r·g(r) at c
    rg = [mpf(0)] + g  # r·g
    shifted = [sum(rg[j] * binomial(j, k) * c ** (j - k) for j in range(k, len(rg))) for k in range(len(rg))]
    s = sup_poly(shifted, h, 16) + max(abs(lo_r), abs(hi_r)) * tail
    exp_approx = max(exp_approx, s * exp(-lo_r))
print("step 1: |1 + r p(r) − e^r| / e^r ≤ %.4f u on |r| ≤ ln2/2·(1 + 2^-20)" % (exp_approx / U))

# ---- Step 2: F = P/Q against erfcx(t/√2) on [0, 40] -----------------------------------------------------------------
# m(t) = ∫_0^∞ e^(−ts − s²/2) ds, F = √(2/π)·m; m' = t·m − 1, m^(k+1) = t·m^(k) + k·m^(k−1); |m^(k)| decreasing in t ≥ 0.


def taylor_F(t, n):
    """F^(k)(t)/k! for k = 0..n."""
    m = [exp(t * t / 2) * erfc(t / sqrt(2)) * sqrt(pi / 2)]
    m.append(t * m[0] - 1)
    for k in range(1, n):
        m.append(t * m[k] + k * m[k - 1])
    return [sqrt(2 / pi) * m[k] / factorial(k) for k in range(n + 1)]


def taylor_poly(c, x):
    """Taylor coefficients of the polynomial c at x."""
    return [sum(c[j] * binomial(j, k) * x ** (j - k) for j in range(k, len(c))) for k in range(len(c))]


def F(t):
    return exp(t * t / 2) * erfc(t / sqrt(2))


KF = 24
WIDTH = mpf(1) / 16
F_approx = mpf(0)
F_worst_at = 0
n_pieces = int(40 / WIDTH)
for i in range(n_pieces):
    a, b = i * WIDTH, (i + 1) * WIDTH
    c, h = (a + b) / 2, WIDTH / 2
    Fc = taylor_F(c, KF)
    Pc, Qc = taylor_poly(P, c), taylor_poly(Q, c)
    gk = [(Pc[k] if k < len(Pc) else 0) - sum(Qc[j] * Fc[k - j] for j in range(0, min(k, 11) + 1)) for k in range(KF + 1)]
    Fa = taylor_F(mpf(a), KF + 1)
    Qb = taylor_poly(Q, mpf(b))
    # remainder: h^(K+1)·Σ_j Q_j(b)·|F_(K+1−j)(a)|, Q's Taylor coefficients increasing in t, F's decreasing in modulus
    rem = h ** (KF + 1) * sum(Qb[j] * abs(Fa[KF + 1 - j]) for j in range(0, 12))
    s = sup_poly(gk, h, 32) + rem
    rel = s / (poly(Q, mpf(a)) * F(mpf(b)))
    if rel > F_approx:
        F_approx, F_worst_at = rel, float(c)
print("step 2: |P/Q − F| / F ≤ %.4f u on [0, 40] (largest on the piece around t = %.3f)" % (F_approx / U, F_worst_at))

# ---- Step 3: rounding of exp(−t²/2)/2 --------------------------------------------------------------------------------


class B:
    """A computed quantity: M bounds the exact value's modulus, Er the error of the computed one."""

    def __init__(self, m, e=mpf(0)):
        self.M, self.Er = mpf(m), mpf(e)


def fma(x, y, z):
    exact = x.M * y.M + z.M
    err = x.M * y.Er + y.M * x.Er + x.Er * y.Er + z.Er
    return B(exact, err + U * (exact + err))


def mul(x, y):
    return fma(x, y, B(0))


# reduction: r1 = t − k·LN2HI exact (both multiples of 2^-53 near each other, |r1| < 1); r2 = fl(r1 − k·LN2LO); r3 = fl(r2 + tlo)
dln2 = abs(ln(2) - LN2HI - LN2LO)
r_arg = KMAX * dln2 + U * (A + KMAX * dln2) + U * (A + U)  # |r̂ − (−t²/2 − k ln2)|
r = B(A)
q = [fma(r, B(E[2 * i + 1]), B(E[2 * i])) for i in range(5)]
r2 = mul(r, r)
r4 = mul(r2, r2)
r8 = mul(r4, r4)
s0 = fma(q[1], r2, q[0])
s1 = fma(q[3], r2, q[2])
s2 = fma(B(E[10]), r2, q[4])
inner = fma(s1, r4, s0)
p = fma(s2, r8, inner)
x1 = fma(p, r, B(1))
eval_err = x1.Er / exp(-A)                # relative to e^r ≥ e^(−A)
arg_err = exp(r_arg) - 1                   # e^(r̂) against e^(r)
# scaling: ×2^k1 exact (the product stays normal), ×2^(k−k1) one rounding (relative u while the result is normal)
exp_err = (1 + exp_approx) * (1 + eval_err) * (1 + arg_err) * (1 + U) - 1
print("step 3: exp(−t²/2)/2 within %.4f u relative (approximation %.3f, evaluation %.3f, argument %.3f, scaling 1)"
      % (exp_err / U, exp_approx / U, eval_err / U, arg_err / U))

# ---- Step 4: rounding of P, Q (Horner, FMA, positive terms), the quotient and the tail T = eh·F̂ --------------------


def horner_rel(c, t):
    """|P̂ − P|/P for Horner with one FMA per step from the top: term j meets min(j, n−1) + 1 roundings (n = deg)."""
    n = len(c) - 1
    tot = poly(c, t)
    return sum(c[j] * t ** j * ((1 + U) ** (min(j, n - 1) + 1) - 1) for j in range(n + 1)) / tot


def eps_F(t):
    eP, eQ = horner_rel(P, t), horner_rel(Q, t)
    return (1 + F_approx) * (1 + eP) / (1 - eQ) * (1 + U) - 1


def eps_T(t):
    return (1 + exp_err) * (1 + eps_F(t)) * (1 + U) - 1


eps_c = abs(C_PDF - sqrt(2 / pi)) / sqrt(2 / pi)
eps_pdf = (1 + eps_c) * (1 + exp_err) * (1 + U) - 1


def Phi_m(t):
    return erfc(t / sqrt(2)) / 2


def phi(t):
    return exp(-t * t / 2) / sqrt(2 * pi)


# On [t_i, t_(i+1)] the relative errors eps_F, eps_T are at most their values at t_(i+1) (a weighted mean of increasing
# γ's whose weights move to higher powers as t grows); T = Φ(−t) and φ(t) decrease on t ≥ 0 and t·φ(t) rises to t = 1
# and falls after. Each bound below uses on a piece the end of each factor that makes it largest.
STEP = mpf(1) / 256
TN = mpf(37.5)  # eh and T normal for t ≤ 37.5 (exp(−703.125)/2·F(40) > 2^-1022)
worst = {"T": 0, "Phi-": 0, "Phi+": 0, "gelu": 0, "dgelu": 0, "s_abs": 0, "d_abs": 0}
i = 0
while i * STEP < TN:
    a, b = i * STEP, (i + 1) * STEP
    eT = eps_T(b)
    Ta, Tb = Phi_m(a), Phi_m(b)
    tphi_hi = max(a * phi(a), b * phi(b)) if not (a <= 1 <= b) else phi(1)
    tphi_lo = min(a * phi(a), b * phi(b))
    worst["T"] = max(worst["T"], eT)
    # u ≥ 0: Φ̂ = fl(1 − T̂), |ΔΦ| ≤ eT·T + u·(1 − T + eT·T)
    dPp = eT * Ta + U * (1 - Tb + eT * Ta)
    worst["Phi-"] = max(worst["Phi-"], eT)
    worst["Phi+"] = max(worst["Phi+"], dPp / (1 - Ta))
    # u < 0, pointwise: Φ̂ = T̂ within eT relative; gelu = fl(u·Φ̂) within (1 + eT)(1 + u) − 1 relative; gelu' =
    # fl(u·φ̂ + Φ̂) with |Δ| ≤ |u|φ·eps_pdf + eT·T + u·(|u|φ(1 + eps_pdf) + T(1 + eT)) ≤ (max(eps_pdf, eT)(1 + u) + u)·(T + |u|φ)
    g_rel = (1 + eT) * (1 + U) - 1
    worst["gelu"] = max(worst["gelu"], g_rel)
    worst["s_abs"] = max(worst["s_abs"], g_rel * Ta)
    d_rel = max(eps_pdf, eT) * (1 + U) + U
    worst["dgelu"] = max(worst["dgelu"], d_rel)
    worst["d_abs"] = max(worst["d_abs"], d_rel * (Ta + tphi_hi))
    # u ≥ 0: Φ ∈ [1 − Ta, 1 − Tb]; gelu: |Δ| ≤ |u|·(|ΔΦ| + u(Φ + |ΔΦ|)); gelu' (no cancellation: both terms ≥ 0)
    g_abs = dPp + U * (1 - Tb + dPp)
    worst["gelu"] = max(worst["gelu"], g_abs / (1 - Ta))
    worst["s_abs"] = max(worst["s_abs"], g_abs)
    d_abs = tphi_hi * eps_pdf + dPp + U * (1 - Tb + tphi_hi * (1 + eps_pdf) + dPp)
    worst["d_abs"] = max(worst["d_abs"], d_abs)
    worst["dgelu"] = max(worst["dgelu"], d_abs / (1 - Ta + tphi_lo))
    i += 1

print("step 4: rational F̂ within %.3f u at t = 0, %.3f u at t = 2, %.3f u at t = 6, %.3f u at t = 37.5 (relative)"
      % tuple(eps_F(mpf(t)) / U for t in (0, 2, 6, 37.5)))
print("        tail T̂ = Φ(−t) within %.3f u relative on [0, 37.5]" % (worst["T"] / U))
print("        φ̂ within %.3f u relative (the constant 2/√(2π): %.3f u)" % (eps_pdf / U, eps_c / U))
print("step 5: Φ̂ within %.3f u relative for u < 0, %.3f u for u ≥ 0" % (worst["Phi-"] / U, worst["Phi+"] / U))
print("        gelu within %.3f u relative, gelu' within %.3f u relative to |Φ| + |uφ|" % (worst["gelu"] / U, worst["dgelu"] / U))
print("        |ĝelu − gelu| ≤ %.3f u|x|, |ĝelu' − gelu'| ≤ %.3f u (the centre's units)" % (worst["s_abs"] / U, worst["d_abs"] / U))
BOUND = max(worst["gelu"], worst["dgelu"]) / U
print("BOUND %.3f" % BOUND)
