namespace ResOdeProofs.Numerics.Ode;

/// <summary>
/// An explicit embedded Runge–Kutta pair as data: the Butcher tableau
/// <code>
/// c | A
/// --+----
///   | bᵀ   (order p, propagates the solution)
///   | b̂ᵀ   (order p̂, embedded: the local error estimate is (b − b̂)·k)
/// </code>
/// One step of size h from y: k_i = f(t + c_i h, y + h Σ_{j&lt;i} A_ij k_j), y_new = y + h Σ_i b_i k_i.
/// The constructor checks the tableau's own invariants and throws an <see cref="ArgumentException"/>
/// naming the first one that fails: A strictly lower triangular, row sums Σ_j A_ij = c_i, and the
/// order conditions for b up to order min(p, 4) and for b̂ up to order min(p̂, 4):
/// <code>
/// order 1: Σ b_i = 1
/// order 2: Σ b_i c_i = 1/2
/// order 3: Σ b_i c_i² = 1/3,  Σ b_i (A c)_i = 1/6
/// order 4: Σ b_i c_i³ = 1/4,  Σ b_i c_i (A c)_i = 1/8,  Σ b_i (A c²)_i = 1/12,  Σ b_i (A A c)_i = 1/24
/// </code>
/// (Hairer, Nørsett, Wanner, Solving ODEs I, §II.2, table 2.2). The coefficients are rationals rounded
/// to double, so each condition is checked to 1e-13 (a few hundred units of float64 rounding of sums of
/// at most 7 terms with coefficients below 25 in magnitude).
/// </summary>
public sealed class ButcherTableau
{
    /// <summary>Tolerance of the invariant checks (float64 rounding of the rational coefficients, stated above).</summary>
    public const double InvariantTolerance = 1e-13;

    /// <summary>Name, e.g. "Dormand–Prince 5(4)".</summary>
    public string Name { get; }
    /// <summary>A (s×s, strictly lower triangular), A[i][j].</summary>
    public double[][] A { get; }
    /// <summary>Weights b of the propagated solution.</summary>
    public double[] B { get; }
    /// <summary>Weights b̂ of the embedded solution.</summary>
    public double[] BHat { get; }
    /// <summary>Nodes c.</summary>
    public double[] C { get; }
    /// <summary>Declared order p of b.</summary>
    public int Order { get; }
    /// <summary>Declared order p̂ of b̂.</summary>
    public int EmbeddedOrder { get; }
    /// <summary>Number of stages s.</summary>
    public int Stages => C.Length;
    /// <summary>First same as last: the last row of A equals b and c_s = 1, so the last stage of an accepted step is the first of the next.</summary>
    public bool Fsal { get; }

    /// <summary>Builds and checks a tableau (throws ArgumentException naming the violated invariant).</summary>
    public ButcherTableau(string name, double[][] a, double[] b, double[] bHat, double[] c, int order, int embeddedOrder)
    {
        Name = name; A = a; B = b; BHat = bHat; C = c; Order = order; EmbeddedOrder = embeddedOrder;
        int s = c.Length;
        if (s < 1 || a.Length != s || b.Length != s || bHat.Length != s)
            throw new ArgumentException($"{name}: A, b, b̂ and c must have the same number of stages (c has {s})");
        if (order < 1 || embeddedOrder < 1) throw new ArgumentException($"{name}: orders must be at least 1");
        for (int i = 0; i < s; i++)
        {
            if (a[i].Length != s) throw new ArgumentException($"{name}: row {i} of A has {a[i].Length} entries, expected {s}");
            double row = 0;
            for (int j = 0; j < s; j++)
            {
                if (j >= i && a[i][j] != 0) throw new ArgumentException($"{name}: A[{i}][{j}] ≠ 0, an explicit method needs A strictly lower triangular");
                row += a[i][j];
            }
            if (Math.Abs(row - c[i]) > InvariantTolerance)
                throw new ArgumentException($"{name}: row sum of A in row {i} is {row:R}, but c[{i}] = {c[i]:R}");
        }
        CheckOrder(name, "b", b, Math.Min(order, 4));
        CheckOrder(name, "b̂", bHat, Math.Min(embeddedOrder, 4));
        bool fsal = Math.Abs(c[s - 1] - 1) == 0;
        for (int j = 0; j < s && fsal; j++) fsal = a[s - 1][j] == b[j];
        Fsal = fsal;
    }

    /// <summary>The order-condition residuals of weights w up to order q (at most 4), as (name, residual).</summary>
    public IEnumerable<(string Condition, double Residual)> OrderConditions(double[] w, int q)
    {
        int s = C.Length;
        double Dot(Func<int, double> g) { double acc = 0; for (int i = 0; i < s; i++) acc += w[i] * g(i); return acc; }
        double Ac(int i, Func<int, double> g) { double acc = 0; for (int j = 0; j < s; j++) acc += A[i][j] * g(j); return acc; }
        if (q >= 1) yield return ("Σ b = 1", Dot(_ => 1) - 1);
        if (q >= 2) yield return ("Σ b c = 1/2", Dot(i => C[i]) - 0.5);
        if (q >= 3)
        {
            yield return ("Σ b c² = 1/3", Dot(i => C[i] * C[i]) - 1.0 / 3);
            yield return ("Σ b A c = 1/6", Dot(i => Ac(i, j => C[j])) - 1.0 / 6);
        }
        if (q >= 4)
        {
            yield return ("Σ b c³ = 1/4", Dot(i => C[i] * C[i] * C[i]) - 0.25);
            yield return ("Σ b c A c = 1/8", Dot(i => C[i] * Ac(i, j => C[j])) - 0.125);
            yield return ("Σ b A c² = 1/12", Dot(i => Ac(i, j => C[j] * C[j])) - 1.0 / 12);
            yield return ("Σ b A A c = 1/24", Dot(i => Ac(i, j => Ac(j, l => C[l]))) - 1.0 / 24);
        }
    }

    private void CheckOrder(string name, string which, double[] w, int q)
    {
        foreach (var (cond, r) in OrderConditions(w, q))
            if (!(Math.Abs(r) <= InvariantTolerance))
                throw new ArgumentException($"{name}: order condition {cond} fails for {which} (residual {r:E3}); the declared order is not attained");
    }

    /// <summary>
    /// Dormand–Prince 5(4), the pair of J. R. Dormand and P. J. Prince, "A family of embedded Runge–Kutta
    /// formulae", J. Comput. Appl. Math. 6 (1980) 19–26, table 2 (as in Hairer–Nørsett–Wanner I, table 5.2):
    /// 7 stages, FSAL, b of order 5 (local extrapolation), b̂ of order 4.
    /// </summary>
    public static ButcherTableau DormandPrince54 { get; } = new(
        "Dormand–Prince 5(4)",
        new[]
        {
            new double[] { 0, 0, 0, 0, 0, 0, 0 },
            new double[] { 1.0 / 5, 0, 0, 0, 0, 0, 0 },
            new double[] { 3.0 / 40, 9.0 / 40, 0, 0, 0, 0, 0 },
            new double[] { 44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0, 0, 0 },
            new double[] { 19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0, 0, 0 },
            new double[] { 9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656, 0, 0 },
            new double[] { 35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0 },
        },
        new double[] { 35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0 },
        new double[] { 5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40 },
        new double[] { 0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1 },
        5, 4);
}
