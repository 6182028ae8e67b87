namespace MLTransforms.Quantization;

/// <summary>
/// The scalar codebooks of <see cref="EmbeddingQuantizer"/>, for one standardised rotated coordinate
/// u = y_i sqrt(p) / ||y||, which a random rotation makes close to N(0, 1) for any input direction.
/// </summary>
/// <remarks>
/// <para>1 bit: RaBitQ's sign code, threshold 0 and levels -1 / +1 (the scale is carried by the per-vector factor).</para>
/// <para>2 and 4 bits: the Lloyd–Max quantiser of N(0, 1) (Lloyd's iteration on the exact Gaussian integrals:
/// thresholds at midpoints, levels at the conditional means of their cells).</para>
/// <para>8 bits: a uniform grid of 256 levels (so the index can scan with integer dot products), with the step that
/// minimises the mean squared error of N(0, 1) (clipping included).</para>
/// </remarks>
internal static class QuantizationCodebook
{
    /// <summary>The bit widths the quantizer supports.</summary>
    public static readonly int[] SupportedBits = [1, 2, 4, 8];

    /// <summary>Whether <paramref name="bits"/> is supported.</summary>
    public static bool IsSupported(int bits) => bits is 1 or 2 or 4 or 8;

    /// <summary>Thresholds (2^b - 1, ascending) and levels (2^b, ascending) for <paramref name="bits"/> bits.</summary>
    public static (double[] Thresholds, double[] Levels) For(int bits) => bits switch
    {
        1 => ([0.0], [-1.0, 1.0]),
        2 or 4 => LloydMax(1 << bits),
        8 => Uniform(256, UniformStep(256)),
        _ => throw new ArgumentOutOfRangeException(nameof(bits), bits, "Supported bit widths: 1, 2, 4, 8."),
    };

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
                double a = j == 0 ? double.NegativeInfinity : t[j - 1], b = j == levels - 1 ? double.PositiveInfinity : t[j];
                double pa = double.IsNegativeInfinity(a) ? 0 : Pdf(a), pb = double.IsPositiveInfinity(b) ? 0 : Pdf(b);
                double mass = (double.IsPositiveInfinity(b) ? 1 : Cdf(b)) - (double.IsNegativeInfinity(a) ? 0 : Cdf(a));
                double mean = (pa - pb) / mass;
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

    /// <summary>E[(u - Q(u))^2] for u ~ N(0, 1): the exact integrals of each cell, E[(u - c)^2] on [a, b].</summary>
    private static double UniformError(int levels, double step)
    {
        var (t, c) = Uniform(levels, step);
        double error = 0;
        for (int j = 0; j < levels; j++)
        {
            double a = j == 0 ? double.NegativeInfinity : t[j - 1], b = j == levels - 1 ? double.PositiveInfinity : t[j];
            double pa = double.IsNegativeInfinity(a) ? 0 : Pdf(a), pb = double.IsPositiveInfinity(b) ? 0 : Pdf(b);
            double apa = double.IsNegativeInfinity(a) ? 0 : a * Pdf(a), bpb = double.IsPositiveInfinity(b) ? 0 : b * Pdf(b);
            double mass = (double.IsPositiveInfinity(b) ? 1 : Cdf(b)) - (double.IsNegativeInfinity(a) ? 0 : Cdf(a));
            double m1 = pa - pb, m2 = mass + apa - bpb; // ∫ u φ, ∫ u² φ over [a, b]
            error += m2 - 2 * c[j] * m1 + c[j] * c[j] * mass;
        }
        return error;
    }
}
