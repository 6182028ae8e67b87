using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;
using MLTransforms.Core.Numerics;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Rotations;

/// <summary>Options of <see cref="OrthogonalRandomFeaturesEstimator"/> (rarely used settings included).</summary>
public sealed class OrthogonalRandomFeaturesOptions
{
    /// <summary>Name of the feature column to append; default <c>"Features"</c>, ML.NET's default feature column.</summary>
    public string OutputColumnName { get; set; } = "Features";

    /// <summary>Name of the input column; null means <see cref="OutputColumnName"/>.</summary>
    public string? InputColumnName { get; set; }

    /// <summary>Number of random frequencies (ML.NET's <c>rank</c>), 1 .. <see cref="OrthogonalRandomFeaturesEstimator.MaxRank"/>;
    /// the output has this many values, or twice as many with <see cref="UseCosAndSinBases"/>.</summary>
    public int Rank { get; set; } = 1000;

    /// <summary>Kernel width gamma of exp(-gamma ||x - y||^2 / m); see <see cref="ScaleGammaByDistance"/> for m.</summary>
    public float Gamma { get; set; } = 1;

    /// <summary>Emit cos and sin of each projection (2 * rank values, interleaved as ML.NET does) instead of cos(w x + b).</summary>
    public bool UseCosAndSinBases { get; set; }

    /// <summary>Number of H D blocks per stacked rotation, 1..3 (SORF uses 3).</summary>
    public int Blocks { get; set; } = 3;

    /// <summary>Seed of every random choice (signs, norms, phases, the distance sample); null (default) draws one
    /// from the estimator's host when the estimator is created, i.e. from the seed of the <see cref="MLContext"/>, as
    /// ML.NET's own components do. An explicit seed always wins.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// False (default): each frequency's norm is drawn from the chi distribution with p degrees of freedom, as in
    /// orthogonal random features (ORF), so every frequency is marginally Gaussian and the kernel estimate is
    /// unbiased. True: every norm is exactly sqrt(p) / sigma, Yu et al.'s SORF, whose estimate is biased when the
    /// input is small (the bias fades as p grows).
    /// </summary>
    public bool FixedRowNorms { get; set; }

    /// <summary>
    /// True (default, as ML.NET's <c>ApproximatedKernelMap</c> with <c>GaussianKernel</c>): m is the median squared
    /// distance between pairs of training rows, measured at fit time. False: m = 1, the literal kernel
    /// exp(-gamma ||x - y||^2).
    /// </summary>
    public bool ScaleGammaByDistance { get; set; } = true;
}

/// <summary>
/// Estimator of <see cref="OrthogonalRandomFeaturesTransformer"/>: structured orthogonal random features (SORF) for
/// the Gaussian kernel, a drop-in replacement for ML.NET's <c>ApproximatedKernelMap</c> with
/// <c>GaussianKernel(gamma)</c> with the same meaning of <c>rank</c>, <c>gamma</c> and <c>useCosAndSinBases</c>.
/// </summary>
/// <remarks>
/// Like ML.NET, fitting divides gamma by m, the median squared Euclidean distance of pairs of training rows (all
/// pairs when there are at most 71 rows, else 2,500 random pairs from a seeded reservoir sample of 5,000 rows; m = 1
/// when it is 0 or there is a single row), so the approximated kernel is exp(-gamma ||x - y||^2 / m). Set
/// <see cref="OrthogonalRandomFeaturesOptions.ScaleGammaByDistance"/> to false for the literal exp(-gamma ||x - y||^2).
/// </remarks>
public sealed class OrthogonalRandomFeaturesEstimator : VectorEstimator<OrthogonalRandomFeaturesTransformer>
{
    private const int ReservoirSize = 5000;

    /// <summary>The largest <see cref="OrthogonalRandomFeaturesOptions.Rank"/>: 2^24 frequencies, so that twice as many
    /// outputs stay far inside array limits. With padded sizes of at most 2^<see cref="WalshHadamard.MaxLog2Length"/>
    /// the stacked rotations then hold at most 3 x 2^25 signs.</summary>
    public const int MaxRank = 1 << 24;

    /// <summary>Creates the estimator; prefer <see cref="RotationsCatalog.OrthogonalRandomFeatures(TransformsCatalog, OrthogonalRandomFeaturesOptions)"/>.</summary>
    /// <param name="env">The ML.NET environment (e.g. the <see cref="MLContext"/>); a null seed is drawn from it.</param>
    /// <param name="options">The settings, read once here (later edits do not change the estimator).</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public OrthogonalRandomFeaturesEstimator(IHostEnvironment env, OrthogonalRandomFeaturesOptions options)
        : base(env, options?.OutputColumnName!, options?.InputColumnName)
    {
        ArgumentNullException.ThrowIfNull(options);
        SchemaChecks.CheckOption(options.Rank is > 0 and <= MaxRank, "rank", options.Rank, $"in 1..{MaxRank}");
        SchemaChecks.CheckOption(options.Gamma > 0 && float.IsFinite(options.Gamma), "gamma", options.Gamma, "positive and finite");
        SchemaChecks.CheckOption(options.Blocks is >= StructuredRotation.MinBlocks and <= StructuredRotation.MaxBlocks, "blocks", options.Blocks, "in 1..3");
        Rank = options.Rank;
        Gamma = options.Gamma;
        UseCosAndSinBases = options.UseCosAndSinBases;
        Blocks = options.Blocks;
        Seed = options.Seed ?? Host.Rand.Next();
        ScaleGammaByDistance = options.ScaleGammaByDistance;
        FixedRowNorms = options.FixedRowNorms;
    }

    /// <summary>Number of random frequencies.</summary>
    public int Rank { get; }

    /// <summary>Kernel width before the distance scaling.</summary>
    public float Gamma { get; }

    /// <summary>Whether the output holds cos and sin pairs.</summary>
    public bool UseCosAndSinBases { get; }

    /// <summary>Number of H D blocks per stacked rotation.</summary>
    public int Blocks { get; }

    /// <summary>Seed of every random choice: the one given, or the one drawn from the context when the estimator was created.</summary>
    public int Seed { get; }

    /// <summary>Whether gamma is divided by the median squared pairwise distance of the training rows.</summary>
    public bool ScaleGammaByDistance { get; }

    /// <summary>Whether every frequency has norm sqrt(p) / sigma exactly (plain SORF) instead of a chi-distributed one.</summary>
    public bool FixedRowNorms { get; }

    /// <inheritdoc/>
    public override OrthogonalRandomFeaturesTransformer Fit(IDataView input)
    {
        int d = CheckInput(input);
        using var ch = Host.Start("Fit");
        float m = ScaleGammaByDistance ? MedianSquaredDistance(input, ch) : 1f;
        int p = WalshHadamard.PaddedLength(d);
        ch.Info($"Rank {Rank} from {d} values zero-padded to {p}: {(Rank + p - 1) / p} stacked rotations of {Blocks} blocks, kernel exp(-{Gamma:G4} ||x - y||^2 / {m:G6}), seed {Seed}");
        return new OrthogonalRandomFeaturesTransformer(OutputColumnName, InputColumnName, d, Rank, Gamma, m, UseCosAndSinBases, Blocks, Seed, FixedRowNorms);
    }

    private float MedianSquaredDistance(IDataView input, IChannel ch)
    {
        var col = input.Schema[InputColumnName];
        var rng = SplitMix64.For(Seed, stream: 0x4D45_4449UL);
        var reservoir = new List<float[]>();
        var buffer = default(VBuffer<float>);
        long seen = 0;
        using (var cursor = input.GetRowCursor([col]))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(col);
            while (cursor.MoveNext())
            {
                // Algorithm R: row number `seen` replaces a random slot with probability ReservoirSize / (seen + 1).
                long slot = seen < ReservoirSize ? seen : (long)(rng.NextDouble() * (seen + 1));
                seen++;
                if (slot >= ReservoirSize)
                    continue;
                getter(ref buffer);
                var row = new float[buffer.Length];
                buffer.CopyTo(row);
                SchemaChecks.CheckFinite(row, InputColumnName, cursor.Position);
                if (slot == reservoir.Count) reservoir.Add(row); else reservoir[(int)slot] = row;
            }
        }
        int n = reservoir.Count;
        if (n == 0)
            throw new InvalidOperationException($"Column '{InputColumnName}' has no rows: cannot fit on empty data.");
        if (n == 1)
            return 1f;
        float[] distances;
        if ((long)n * (n - 1) <= ReservoirSize)
        {
            distances = new float[n * (n - 1) / 2];
            int c = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                    distances[c++] = SquaredDistance(reservoir[i], reservoir[j]);
        }
        else
        {
            distances = new float[ReservoirSize / 2];
            for (int c = 0; c < distances.Length; c++)
            {
                int i = rng.NextInt(n), j = rng.NextInt(n - 1);
                if (j >= i) j++;
                distances[c] = SquaredDistance(reservoir[i], reservoir[j]);
            }
        }
        Array.Sort(distances);
        int h = distances.Length / 2;
        float median = distances.Length % 2 == 1 ? distances[h] : 0.5f * (distances[h - 1] + distances[h]);
        ch.Info($"Median squared distance {median:G6} over {distances.Length} pairs of {n} sampled rows (of {seen})");
        return median > 0 ? median : 1f;
    }

    private static float SquaredDistance(float[] a, float[] b)
    {
        float d = TensorPrimitives.Distance(a, b);
        return d * d;
    }
}

/// <summary>
/// Appends structured orthogonal random features (SORF; Yu, Suresh, Choromanski, Holtmann-Rice and Kumar,
/// "Orthogonal Random Features", NeurIPS 2016, arXiv:1610.09072) whose inner products approximate the Gaussian kernel
/// k(x, y) = exp(-gamma ||x - y||^2 / m).
/// </summary>
/// <remarks>
/// <para>The frequencies are W = (1 / sigma) S H D_1 H D_2 H D_3 with 1 / sigma^2 = 2 gamma / m, p the padded input
/// size: blocks of p orthogonal directions from independent structured rotations, stacked until <see cref="Rank"/>
/// rows, and S a diagonal of norms drawn from the chi distribution with p degrees of freedom, so each frequency is
/// marginally N(0, I / sigma^2) as in random Fourier features and the estimate is unbiased (ORF, Yu et al. section 3).
/// Yu et al.'s SORF sets S = sqrt(p) I instead (<see cref="OrthogonalRandomFeaturesOptions.FixedRowNorms"/>), which is
/// biased for small inputs: on the 16-d letter data its Gram error stops falling near 0.06 while the chi norms reach
/// 0.03 at rank 4096 (RFF: 0.04).</para>
/// <para>The output is sqrt(2 / rank) cos(W x + b) with phases b uniform in [0, 2 pi), or, with cos and sin bases,
/// sqrt(1 / rank) (cos w_1 x, sin w_1 x, cos w_2 x, ...): ML.NET's scaling and layout. A row costs O(rank log p)
/// instead of the O(rank d) of Gaussian random Fourier features, and orthogonal directions give a lower kernel
/// approximation error.</para>
/// </remarks>
public sealed class OrthogonalRandomFeaturesTransformer : VectorTransformer
{
    private readonly StructuredRotation[] _rotations;
    private readonly float[]? _phases;
    private readonly float[]? _rowNorms;
    private readonly float _frequencyScale;

    internal OrthogonalRandomFeaturesTransformer(string outputColumnName, string inputColumnName, int inputSize, int rank,
        float gamma, float distanceScale, bool useCosAndSinBases, int blocks, int seed, bool fixedRowNorms)
        : base(outputColumnName, inputColumnName, inputSize, useCosAndSinBases ? checked(2 * rank) : rank)
    {
        Rank = rank;
        Gamma = gamma;
        DistanceScale = distanceScale;
        UseCosAndSinBases = useCosAndSinBases;
        int p = WalshHadamard.PaddedLength(inputSize);
        _rotations = new StructuredRotation[(rank + p - 1) / p];
        for (int j = 0; j < _rotations.Length; j++)
            _rotations[j] = new StructuredRotation(inputSize, blocks, seed, stream: (ulong)j + 1);
        // sqrt(p) / sigma with 1 / sigma^2 = 2 gamma / m.
        _frequencyScale = MathF.Sqrt(p) * MathF.Sqrt(2 * gamma / distanceScale);
        if (!fixedRowNorms)
        {
            // Norm factors chi_p / sqrt(p): with them each row of W is distributed like a Gaussian frequency.
            var rng = SplitMix64.For(seed, stream: 0x4E4F_524DUL);
            _rowNorms = new float[rank];
            for (int i = 0; i < rank; i++)
                _rowNorms[i] = (float)Math.Sqrt(2 * rng.NextGamma(p / 2.0) / p);
        }
        if (!useCosAndSinBases)
        {
            var rng = SplitMix64.For(seed, stream: 0x5048_4153UL);
            _phases = new float[rank];
            for (int i = 0; i < rank; i++)
                _phases[i] = (float)(2 * Math.PI * rng.NextDouble());
        }
    }

    /// <summary>Number of random frequencies.</summary>
    public int Rank { get; }

    /// <summary>Kernel width gamma as given.</summary>
    public float Gamma { get; }

    /// <summary>m, the divisor of gamma fitted from the data (1 for the literal kernel).</summary>
    public float DistanceScale { get; }

    /// <summary>Whether the output holds cos and sin pairs.</summary>
    public bool UseCosAndSinBases { get; }

    /// <summary>The stacked rotations: rotation j gives frequencies j p .. (j + 1) p - 1.</summary>
    public IReadOnlyList<StructuredRotation> Rotations => _rotations;

    /// <summary>The kernel the features approximate: exp(-gamma ||x - y||^2 / m).</summary>
    public double Kernel(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double dist = TensorPrimitives.Distance(x, y);
        return Math.Exp(-Gamma * dist * dist / DistanceScale);
    }

    private int Padded => _rotations[0].PaddedDimension;

    /// <inheritdoc/>
    protected override int ScratchSize => UseCosAndSinBases ? 3 * Padded : Padded;

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
    {
        int p = Padded;
        var wx = scratch[..p];
        for (int j = 0; j < _rotations.Length; j++)
        {
            input.CopyTo(wx);
            wx[input.Length..].Clear();
            _rotations[j].ApplyInPlace(wx, _frequencyScale);
            int start = j * p, count = Math.Min(p, Rank - start);
            var w = wx[..count];
            if (_phases is not null)
            {
                var o = output.Slice(start, count);
                if (_rowNorms is not null)
                    TensorPrimitives.FusedMultiplyAdd(w, _rowNorms.AsSpan(start, count), _phases.AsSpan(start, count), o);
                else
                    TensorPrimitives.Add(w, _phases.AsSpan(start, count), o);
                FastCosine.Cos(o, o);
                TensorPrimitives.Multiply(o, MathF.Sqrt(2f / Rank), o);
            }
            else
            {
                if (_rowNorms is not null)
                    TensorPrimitives.Multiply(w, _rowNorms.AsSpan(start, count), w);
                var sin = scratch.Slice(p, count);
                var cos = scratch.Slice(2 * p, count);
                TensorPrimitives.SinCos(w, sin, cos);
                float s = MathF.Sqrt(1f / Rank);
                var o = output.Slice(2 * start, 2 * count);
                for (int i = 0; i < count; i++)
                {
                    o[2 * i] = s * cos[i];
                    o[2 * i + 1] = s * sin[i];
                }
            }
        }
    }

    /// <inheritdoc/>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
    {
        var all = RotationOnnx.Emit(graph, input, _rotations, _frequencyScale);
        var wx = _rotations.Length * Padded == Rank
            ? all
            : graph.AddNode("Slice", [all, graph.AddInitializer("starts", [0L], 1), graph.AddInitializer("ends", [(long)Rank], 1), graph.AddInitializer("axes", [1L], 1)]);
        if (_rowNorms is not null)
            wx = graph.AddNode("Mul", [wx, graph.AddInitializer("row_norms", _rowNorms, Rank)]);
        if (_phases is not null)
        {
            var cos = graph.AddNode("Cos", [graph.AddNode("Add", [wx, graph.AddInitializer("phases", _phases, Rank)])]);
            return graph.AddNode("Mul", [cos, graph.AddInitializer("scale", [MathF.Sqrt(2f / Rank)], 1)]);
        }
        var scale = graph.AddInitializer("scale", [MathF.Sqrt(1f / Rank)], 1);
        var axis2 = graph.AddInitializer("axis2", [2L], 1);
        var c = graph.AddNode("Unsqueeze", [graph.AddNode("Cos", [wx]), axis2]);
        var s = graph.AddNode("Unsqueeze", [graph.AddNode("Sin", [wx]), axis2]);
        var pairs = graph.AddNode("Concat", [c, s], ("axis", 2L));
        var flat = graph.AddNode("Reshape", [pairs, graph.AddInitializer("shape", [-1L, 2L * Rank], 2)]);
        return graph.AddNode("Mul", [flat, scale]);
    }
}
