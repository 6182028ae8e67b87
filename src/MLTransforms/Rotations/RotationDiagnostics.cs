using System.Numerics.Tensors;
using MathNet.Numerics;
using MLTransforms.Core.Numerics;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Rotations;

/// <summary>
/// Measures how close a structured rotation H D_b ... H D_1 is to a uniformly random rotation, as in "Approximating
/// Uniform Random Rotations by Two-Block Structured Hadamard Rotations in High Dimensions" (arXiv:2604.23418).
/// </summary>
public static class RotationDiagnostics
{
    private const int DrawsPerChunk = 1024;

    /// <summary>
    /// Kolmogorov-Smirnov distance between the law of sqrt(p) (R x)_1 / ||x|| over <paramref name="draws"/> independent
    /// draws of the signs of R (p = the padded dimension), and the law of sqrt(p) u_1 for u uniform on the unit sphere
    /// of R^p: density proportional to (1 - t^2 / p)^((p - 3) / 2) on [-sqrt(p), sqrt(p)], i.e. u_1^2 ~ Beta(1/2, (p - 1) / 2).
    /// </summary>
    /// <remarks>
    /// For the input e_1 one block gives sqrt(p) (R x)_1 = +-1 exactly, a distance of about 0.34 for every p; two blocks
    /// give a scaled Rademacher sum, with a distance decaying like p^(-1/2); three blocks reach the sampling noise
    /// (<see cref="NoiseFloor"/>) quickly. Draws run in parallel in fixed chunks with their own seeded streams, so the
    /// result depends only on the arguments, not on the number of threads.
    /// </remarks>
    /// <param name="dimension">Input size d (at least 2); rotations act on the padded size p.</param>
    /// <param name="blocks">Number of H D blocks, 1..3.</param>
    /// <param name="draws">Number of independent rotations drawn.</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="input">Input vector (nonzero, length <paramref name="dimension"/>); empty means e_1.</param>
    /// <param name="progress">Receives the fraction of draws done, 0..1.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>The Kolmogorov-Smirnov distance sup_t |F_empirical(t) - F(t)|.</returns>
    public static double KolmogorovSmirnov(int dimension, int blocks, int draws, int seed, ReadOnlySpan<float> input = default,
        IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        SchemaChecks.CheckOption(dimension >= 2 && dimension <= 1 << WalshHadamard.MaxLog2Length, nameof(dimension), dimension, $"in 2..{1 << WalshHadamard.MaxLog2Length}");
        SchemaChecks.CheckOption(blocks is >= StructuredRotation.MinBlocks and <= StructuredRotation.MaxBlocks, nameof(blocks), blocks, "in 1..3");
        SchemaChecks.CheckOption(draws > 0, nameof(draws), draws, "positive");
        int p = WalshHadamard.PaddedLength(dimension);
        var x = new float[p];
        if (input.IsEmpty)
            x[0] = 1;
        else
        {
            if (input.Length != dimension)
                throw new ArgumentException($"'input' has {input.Length} values; expected {dimension} (the dimension).", nameof(input));
            SchemaChecks.CheckFinite(input, nameof(input), 0);
            float norm = TensorPrimitives.Norm(input);
            if (norm == 0)
                throw new ArgumentException("'input' is the zero vector; its direction is undefined.", nameof(input));
            TensorPrimitives.Divide(input, norm, x.AsSpan(0, dimension));
        }

        var samples = new double[draws];
        int chunks = (draws + DrawsPerChunk - 1) / DrawsPerChunk;
        int done = 0;
        Parallel.For(0, chunks, new ParallelOptions { CancellationToken = cancellationToken }, () => (new float[p], new float[p]), (c, _, buffers) =>
        {
            var (v, signs) = buffers;
            var rng = SplitMix64.For(seed, (ulong)c);
            float scale = 1f / MathF.Sqrt(p);
            int end = Math.Min(draws, (c + 1) * DrawsPerChunk);
            for (int i = c * DrawsPerChunk; i < end; i++)
            {
                x.CopyTo(v, 0);
                for (int b = 0; b < blocks - 1; b++)
                {
                    rng.FillSigns(signs);
                    WalshHadamard.Transform(v, signs, scale);
                }
                // The last block's first coordinate is (1 / sqrt p) sum_j s_j v_j (row 0 of H is all ones).
                rng.FillSigns(signs);
                samples[i] = TensorPrimitives.Dot<float>(signs, v); // sqrt(p) * (R x)_1
            }
            if (progress is not null)
                progress.Report((double)Interlocked.Add(ref done, end - c * DrawsPerChunk) / draws);
            return buffers;
        }, _ => { });

        Array.Sort(samples);
        double n = draws, ks = 0, previous = double.NaN, cdf = 0;
        for (int i = 0; i < samples.Length; i++)
        {
            if (samples[i] != previous)
            {
                previous = samples[i];
                cdf = UniformCoordinateCdf(previous, p);
            }
            ks = Math.Max(ks, Math.Max(cdf - i / n, (i + 1) / n - cdf));
        }
        return ks;
    }

    /// <summary>
    /// P(sqrt(p) u_1 &lt;= t) for u uniform on the unit sphere of R^p: 1/2 +- I_{t^2/p}(1/2, (p - 1)/2) / 2, I the
    /// regularized incomplete beta function.
    /// </summary>
    /// <param name="t">The point.</param>
    /// <param name="p">The dimension, at least 2.</param>
    public static double UniformCoordinateCdf(double t, int p)
    {
        SchemaChecks.CheckOption(p >= 2, nameof(p), p, "at least 2");
        double z = Math.Min(1.0, t * t / p);
        double half = 0.5 * SpecialFunctions.BetaRegularized(0.5, 0.5 * (p - 1), z);
        return t < 0 ? 0.5 - half : 0.5 + half;
    }

    /// <summary>The typical Kolmogorov-Smirnov distance of <paramref name="draws"/> samples from their own law,
    /// E[D] ~ sqrt(pi / 2) ln(2) / sqrt(n) ~ 0.869 / sqrt(n): smaller distances cannot be resolved.</summary>
    /// <param name="draws">Number of samples n.</param>
    public static double NoiseFloor(int draws) => Math.Sqrt(Math.PI / 2) * Math.Log(2) / Math.Sqrt(draws);
}
