namespace MLTransforms.Quantization;

/// <summary>
/// The scalar codebooks of <see cref="EmbeddingQuantizer"/>, for one standardised rotated coordinate
/// u = y_i sqrt(p) / ||y||, which a random rotation makes close to N(0, 1) for any input direction.
/// </summary>
/// <remarks>
/// <para>1 bit: RaBitQ's sign code, threshold 0 and levels -1 / +1 (the scale is carried by the per-vector factor).</para>
/// <para>2 and 4 bits: the Lloyd–Max quantiser of N(0, 1) (Lloyd's iteration on the exact Gaussian integrals:
/// thresholds at midpoints, levels at the conditional means of their cells).</para>
/// <para>3 bits: the best N(0, 1) quantiser whose levels are additive in the code's bits, level(c) = ±w₀ ± w₁ ± w₂
/// (bit j of c picks the sign of w_j). A 3-bit code straddles the nibbles the index scans, and an additive codebook
/// lets each nibble's table hold its bits' share of a coordinate exactly. The best one does not order its levels
/// like the codes (w₂ &lt; w₀ + w₁), so a cell (the rank of its level) maps to a code through <c>CellCodes</c>. Its
/// mean squared error, 0.0353, is 2 % above the unconstrained Lloyd–Max quantiser's 0.0345 (the best additive
/// codebook ordered like its codes: 0.0369; the best uniform grid: 0.0374).</para>
/// <para>8 bits: a uniform grid of 256 levels (so the index can scan with integer dot products), with the step that
/// minimises the mean squared error of N(0, 1) (clipping included).</para>
/// </remarks>
internal static class QuantizationCodebook
{
    /// <summary>The bit widths the quantizer supports.</summary>
    public static readonly int[] SupportedBits = [1, 2, 3, 4, 8];

    /// <summary>The supported bit widths, for messages.</summary>
    public const string SupportedText = "one of 1, 2, 3, 4, 8";

    /// <summary>Whether <paramref name="bits"/> is supported.</summary>
    public static bool IsSupported(int bits) => bits is 1 or 2 or 3 or 4 or 8;

    private static readonly Lazy<(double[], double[], int[])> ThreeBits = new(() => AdditiveLloydMax(3));

    /// <summary>For <paramref name="bits"/> bits: the thresholds (2^b - 1, ascending), the level of each code value
    /// (2^b), and the code of each cell (cell k lies between thresholds k - 1 and k; the identity except at 3 bits).</summary>
    public static (double[] Thresholds, double[] Levels, int[] CellCodes) For(int bits)
    {
        if (bits == 3)
        {
            var (t, l, c) = ThreeBits.Value;
            return ((double[])t.Clone(), (double[])l.Clone(), (int[])c.Clone());
        }
        var (thresholds, levels) = bits switch
        {
            1 => ([0.0], [-1.0, 1.0]),
            2 or 4 => LloydMax(1 << bits),
            8 => Uniform(256, UniformStep(256)),
            _ => throw new ArgumentOutOfRangeException(nameof(bits), bits, "Supported bit widths: 1, 2, 3, 4, 8."),
        };
        return (thresholds, levels, Enumerable.Range(0, levels.Length).ToArray());
    }

    /// <summary>Lloyd's iteration for N(0, 1) restricted to additive levels A w (A_cj = ±1 by bit j of code c): cells
    /// between the sorted levels' midpoints, then w = (Aᵀ M₀ A)⁻¹ Aᵀ M₁ with each cell's mass M₀ and first moment M₁
    /// on the row of its code. Started from the best of a coarse grid of w (step 0.05), since the iteration keeps the
    /// levels' order and the best order is not the codes'.</summary>
    internal static (double[] Thresholds, double[] Levels, int[] CellCodes) AdditiveLloydMax(int bits)
    {
        int n = 1 << bits;
        double[]? best = null;
        double bestError = double.PositiveInfinity;
        var w = new double[bits];
        void Grid(int j, double from)
        {
            if (j == bits)
            {
                var (t0, c0, _) = Cells(w);
                if (t0 is null) return;
                double e = GaussianError(t0, c0);
                if (e < bestError) { bestError = e; best = (double[])w.Clone(); }
                return;
            }
            for (double v = from; v <= 0.3 * (j + 1) + 0.6; v += 0.05) { w[j] = v; Grid(j + 1, v + 0.05); }
        }
        Grid(0, 0.05);
        w = best!;
        for (int iteration = 0; iteration < 5000; iteration++)
        {
            var (t, sorted, codes) = Cells(w);
            var g = new double[bits, bits];
            var h = new double[bits];
            for (int k = 0; k < n; k++)
            {
                var (m0, m1, _) = Cell(t!, k);
                for (int i = 0; i < bits; i++)
                {
                    double ai = ((codes[k] >> i) & 1) == 1 ? 1 : -1;
                    for (int j = 0; j < bits; j++) g[i, j] += ai * (((codes[k] >> j) & 1) == 1 ? 1 : -1) * m0;
                    h[i] += ai * m1;
                }
            }
            var next = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(g)
                .Solve(MathNet.Numerics.LinearAlgebra.Vector<double>.Build.DenseOfArray(h)).ToArray();
            double change = 0;
            for (int j = 0; j < bits; j++) change = Math.Max(change, Math.Abs(next[j] - w[j]));
            w = next;
            if (change < 1e-14) break;
        }
        var (thresholds, _, cellCodes) = Cells(w);
        if (thresholds is null) throw new InvalidOperationException($"The additive {bits}-bit codebook has coinciding levels.");
        var levels = new double[n];
        for (int c = 0; c < n; c++) levels[c] = Level(w, c);
        return (thresholds, levels, cellCodes);

        static double Level(double[] w, int c)
        {
            double v = 0;
            for (int j = 0; j < w.Length; j++) v += ((c >> j) & 1) == 1 ? w[j] : -w[j];
            return v;
        }

        // The codes sorted by level, the sorted levels and their midpoints (null thresholds when two levels coincide).
        static (double[]? Thresholds, double[] Sorted, int[] Codes) Cells(double[] w)
        {
            int n = 1 << w.Length;
            var codes = Enumerable.Range(0, n).OrderBy(c => Level(w, c)).ToArray();
            var sorted = codes.Select(c => Level(w, c)).ToArray();
            var t = new double[n - 1];
            for (int k = 0; k < n - 1; k++)
            {
                if (!(sorted[k + 1] - sorted[k] > 1e-9)) return (null, sorted, codes);
                t[k] = 0.5 * (sorted[k] + sorted[k + 1]);
            }
            return (t, sorted, codes);
        }
    }

    /// <summary>E[(u - Q(u))^2] for u ~ N(0, 1) under nearest-level cells with the given thresholds and levels.</summary>
    internal static double GaussianError(double[] t, double[] c)
    {
        double error = 0;
        for (int j = 0; j < c.Length; j++)
        {
            var (mass, m1, m2) = Cell(t, j);
            error += m2 - 2 * c[j] * m1 + c[j] * c[j] * mass;
        }
        return error;
    }

    /// <summary>∫ φ, ∫ u φ and ∫ u² φ (φ the N(0, 1) density) over cell <paramref name="j"/> of the ascending
    /// thresholds <paramref name="t"/>: cell 0 starts at -∞ and cell t.Length ends at +∞.</summary>
    private static (double Mass, double First, double Second) Cell(double[] t, int j)
    {
        double a = j == 0 ? double.NegativeInfinity : t[j - 1], b = j == t.Length ? double.PositiveInfinity : t[j];
        double pa = double.IsNegativeInfinity(a) ? 0 : Pdf(a), pb = double.IsPositiveInfinity(b) ? 0 : Pdf(b);
        double apa = double.IsNegativeInfinity(a) ? 0 : a * Pdf(a), bpb = double.IsPositiveInfinity(b) ? 0 : b * Pdf(b);
        double mass = (double.IsPositiveInfinity(b) ? 1 : Cdf(b)) - (double.IsNegativeInfinity(a) ? 0 : Cdf(a));
        return (mass, pa - pb, mass + apa - bpb);
    }

    /// <summary>The unconstrained Lloyd–Max quantiser of N(0, 1) with 2^<paramref name="bits"/> levels (for comparison).</summary>
    internal static (double[] Thresholds, double[] Levels) UnconstrainedLloydMax(int bits) => LloydMax(1 << bits);

    private static double Pdf(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    private static double Cdf(double x) => 0.5 * MathNet.Numerics.SpecialFunctions.Erfc(-x / Math.Sqrt(2));

    /// <summary>Lloyd's iteration for N(0, 1) with <paramref name="levels"/> cells, started from equal-mass cells.</summary>
    private static (double[] Thresholds, double[] Levels) LloydMax(int levels)
    {
        var t = new double[levels - 1];
        var c = new double[levels];
        for (int j = 0; j < levels; j++)
            c[j] = MathNet.Numerics.Distributions.Normal.InvCDF(0, 1, (j + 0.5) / levels);
        for (int iteration = 0; iteration < 2000; iteration++)
        {
            for (int j = 0; j < levels - 1; j++) t[j] = 0.5 * (c[j] + c[j + 1]);
            double change = 0;
            for (int j = 0; j < levels; j++)
            {
                var (mass, first, _) = Cell(t, j);
                double mean = first / mass;
                change = Math.Max(change, Math.Abs(mean - c[j]));
                c[j] = mean;
            }
            if (change < 1e-13) break;
        }
        for (int j = 0; j < levels - 1; j++) t[j] = 0.5 * (c[j] + c[j + 1]);
        return (t, c);
    }

    /// <summary>Levels (j - (n - 1) / 2) step, thresholds at the midpoints.</summary>
    private static (double[] Thresholds, double[] Levels) Uniform(int levels, double step)
    {
        var c = new double[levels];
        var t = new double[levels - 1];
        for (int j = 0; j < levels; j++) c[j] = (j - (levels - 1) / 2.0) * step;
        for (int j = 0; j < levels - 1; j++) t[j] = (j + 1 - levels / 2.0) * step;
        return (t, c);
    }

    /// <summary>The step of the uniform <paramref name="levels"/>-level quantiser with the least N(0, 1) mean squared error
    /// (golden-section search; the error is unimodal in the step).</summary>
    private static double UniformStep(int levels)
    {
        double lo = 0.1 / levels, hi = 20.0 / levels;
        double g = (Math.Sqrt(5) - 1) / 2;
        double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
        double f1 = UniformError(levels, x1), f2 = UniformError(levels, x2);
        for (int i = 0; i < 100; i++)
        {
            if (f1 < f2) { hi = x2; x2 = x1; f2 = f1; x1 = hi - g * (hi - lo); f1 = UniformError(levels, x1); }
            else { lo = x1; x1 = x2; f1 = f2; x2 = lo + g * (hi - lo); f2 = UniformError(levels, x2); }
        }
        return 0.5 * (lo + hi);
    }

    /// <summary>E[(u - Q(u))^2] for u ~ N(0, 1) of the uniform quantiser with this step.</summary>
    private static double UniformError(int levels, double step)
    {
        var (t, c) = Uniform(levels, step);
        return GaussianError(t, c);
    }
}
