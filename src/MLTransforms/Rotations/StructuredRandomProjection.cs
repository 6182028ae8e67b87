using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;
using MLTransforms.Core.Numerics;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Rotations;

/// <summary>
/// Estimator of <see cref="StructuredRandomProjectionTransformer"/>: a subsampled randomized Hadamard transform
/// (SRHT) for Johnson-Lindenstrauss dimension reduction.
/// </summary>
/// <remarks>
/// With <see cref="OutputDimension"/> = 0 ('auto') the output size is scikit-learn's
/// <c>johnson_lindenstrauss_min_dim(n_samples, eps)</c> = floor(4 ln(n) / (eps^2 / 2 - eps^3 / 3)), n being the
/// number of training rows; like scikit-learn, fitting fails when that exceeds the input size.
/// </remarks>
public sealed class StructuredRandomProjectionEstimator : VectorEstimator<StructuredRandomProjectionTransformer>
{
    /// <summary>Creates the estimator; prefer <see cref="RotationsCatalog.StructuredRandomProjection"/>.</summary>
    /// <param name="env">The ML.NET environment (e.g. the <see cref="MLContext"/>); a null seed is drawn from it.</param>
    /// <param name="outputColumnName">Name of the projected column.</param>
    /// <param name="inputColumnName">Name of the input column; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="outputDimension">Output size k (at most the padded input size), or 0 for 'auto'.</param>
    /// <param name="eps">Distortion allowed by 'auto' sizing, in (0, 1).</param>
    /// <param name="blocks">Number of H D blocks before sub-sampling, 1..3.</param>
    /// <param name="seed">Seed of the signs and of the row choice; null draws one from the estimator's host, i.e.
    /// from the seed of the <see cref="MLContext"/> (as ML.NET's own components do). An explicit seed always wins.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public StructuredRandomProjectionEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName = null, int outputDimension = 0,
        double eps = 0.1, int blocks = 1, int? seed = null)
        : base(env, outputColumnName, inputColumnName)
    {
        SchemaChecks.CheckOption(outputDimension >= 0, nameof(outputDimension), outputDimension, "0 (auto) or positive");
        SchemaChecks.CheckOption(eps > 0 && eps < 1, nameof(eps), eps, "in (0, 1)");
        SchemaChecks.CheckOption(blocks is >= StructuredRotation.MinBlocks and <= StructuredRotation.MaxBlocks, nameof(blocks), blocks, "in 1..3");
        OutputDimension = outputDimension;
        Eps = eps;
        Blocks = blocks;
        Seed = seed ?? Host.Rand.Next();
    }

    /// <summary>Requested output size; 0 means 'auto' (see the remarks).</summary>
    public int OutputDimension { get; }

    /// <summary>Distortion used by 'auto' sizing.</summary>
    public double Eps { get; }

    /// <summary>Number of H D blocks.</summary>
    public int Blocks { get; }

    /// <summary>Seed of the signs and the row choice: the one given, or the one drawn from the context when the
    /// estimator was created.</summary>
    public int Seed { get; }

    /// <summary>
    /// scikit-learn's <c>johnson_lindenstrauss_min_dim</c>: the smallest k for which a random projection to k
    /// dimensions keeps all pairwise squared distances of <paramref name="samples"/> points within a factor 1 +- eps
    /// with good probability, floor(4 ln(n) / (eps^2 / 2 - eps^3 / 3)).
    /// </summary>
    /// <param name="samples">Number of points n, at least 1.</param>
    /// <param name="eps">Distortion, in (0, 1).</param>
    public static long JohnsonLindenstraussMinDimension(long samples, double eps)
    {
        SchemaChecks.CheckOption(samples > 0, nameof(samples), samples, "positive");
        SchemaChecks.CheckOption(eps > 0 && eps < 1, nameof(eps), eps, "in (0, 1)");
        return (long)(4 * Math.Log(samples) / (eps * eps / 2 - eps * eps * eps / 3));
    }

    /// <inheritdoc/>
    public override StructuredRandomProjectionTransformer Fit(IDataView input)
    {
        int d = CheckInput(input);
        int p = WalshHadamard.PaddedLength(d);
        int k = OutputDimension;
        using var ch = Host.Start("Fit");
        if (k == 0)
        {
            long n = input.GetRowCount() ?? CountRows(input);
            if (n == 0)
                throw new InvalidOperationException($"Column '{InputColumnName}' has no rows: cannot size the projection ('auto') on empty data.");
            long auto = JohnsonLindenstraussMinDimension(n, Eps);
            if (auto <= 0)
                throw new InvalidOperationException(FormattableString.Invariant($"eps={Eps:F6} and n_samples={n} lead to a target dimension of {auto} which is invalid (column '{InputColumnName}')."));
            if (auto > d)
                throw new InvalidOperationException(FormattableString.Invariant($"eps={Eps:F6} and n_samples={n} lead to a target dimension of {auto} which is larger than the original space with n_features={d} (column '{InputColumnName}'). Pass a larger eps or an explicit outputDimension."));
            k = (int)auto;
            ch.Info($"Output dimension {k} ('auto', Johnson-Lindenstrauss for n_samples={n}, eps={Eps:G4}) from {d} values zero-padded to {p}, {Blocks} blocks, seed {Seed}");
        }
        else if (k > p)
        {
            throw new ArgumentOutOfRangeException(nameof(OutputDimension), k,
                $"Option 'outputDimension' must be at most the padded input size {p} of column '{InputColumnName}' (size {d}); got {k}.");
        }
        else
        {
            ch.Info($"Output dimension {k} from {d} values zero-padded to {p}, {Blocks} blocks, seed {Seed}");
        }
        return new StructuredRandomProjectionTransformer(OutputColumnName, InputColumnName, new StructuredRotation(d, Blocks, Seed), k);
    }

    private static long CountRows(IDataView data)
    {
        long n = 0;
        using var cursor = data.GetRowCursor([]);
        while (cursor.MoveNext()) n++;
        return n;
    }
}

/// <summary>
/// Appends y = sqrt(p / k) S R [x; 0]: a structured rotation R of the zero-padded input (p = next power of two)
/// followed by a seeded choice S of k of its p coordinates without replacement (the subsampled randomized Hadamard
/// transform). E ||y||^2 = ||x||^2, and for k of order eps^-2 log n all pairwise distances of n points are kept within
/// 1 +- eps with high probability (Ailon and Chazelle 2009; Tropp 2011), at O(p log p) cost per row instead of O(d k).
/// </summary>
public sealed class StructuredRandomProjectionTransformer : VectorTransformer
{
    private readonly int[] _rows;
    private readonly float _scale;

    internal StructuredRandomProjectionTransformer(string outputColumnName, string inputColumnName, StructuredRotation rotation, int outputDimension)
        : base(outputColumnName, inputColumnName, rotation.Dimension, outputDimension)
    {
        Rotation = rotation;
        int p = rotation.PaddedDimension;
        // Partial Fisher-Yates on a stream of its own, so the rows do not depend on the number of blocks.
        var rng = SplitMix64.For(rotation.Seed, stream: 0x5248_5400UL);
        var perm = Enumerable.Range(0, p).ToArray();
        for (int i = 0; i < outputDimension; i++)
        {
            int j = i + rng.NextInt(p - i);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        _rows = perm[..outputDimension];
        Array.Sort(_rows);
        _scale = MathF.Sqrt((float)p / outputDimension);
    }

    /// <summary>The rotation applied before sub-sampling.</summary>
    public StructuredRotation Rotation { get; }

    /// <summary>The kept coordinates of the rotated vector, ascending.</summary>
    public IReadOnlyList<int> Rows => _rows;

    /// <inheritdoc/>
    protected override int ScratchSize => Rotation.PaddedDimension;

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
    {
        input.CopyTo(scratch);
        scratch[input.Length..].Clear();
        Rotation.ApplyInPlace(scratch, _scale);
        for (int i = 0; i < _rows.Length; i++)
            output[i] = scratch[_rows[i]];
    }

    /// <inheritdoc/>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
    {
        var rotated = RotationOnnx.Emit(graph, input, [Rotation], _scale);
        var rows = _rows.Select(r => (long)r).ToArray();
        return graph.AddNode("Gather", [rotated, graph.AddInitializer("rows", rows, rows.Length)], ("axis", 1L));
    }
}
