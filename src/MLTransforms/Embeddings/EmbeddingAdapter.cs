using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLTransforms.Embeddings;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Embeddings;

/// <summary>
/// Fits an <see cref="EmbeddingAdapterTransformer"/> on paired rows: the input column holds new-model vectors,
/// the target column old-model vectors of the same items. The pairs are streamed into
/// <see cref="PairedStatistics"/> (one per cross-validation fold), so memory stays O(d²) for any number of rows;
/// <see cref="EmbeddingAdapterKind.ResidualMlp"/> trains on the pairs themselves and holds them in memory.
/// </summary>
/// <remarks>To migrate an index (old -> new) swap the roles: input = old-model column, target = new-model column.</remarks>
public sealed class EmbeddingAdapterEstimator : VectorEstimator<EmbeddingAdapterTransformer>
{
    private readonly EmbeddingAdapterOptions _options;
    private readonly int _drawnSeed;

    /// <summary>Creates the estimator; prefer <see cref="EmbeddingsCatalog.EmbeddingAdapter"/>.</summary>
    /// <param name="env">The ML.NET environment (e.g. the <see cref="MLContext"/>); fitting logs to it.</param>
    /// <param name="outputColumnName">Column of mapped vectors.</param>
    /// <param name="inputColumnName">Column of new-model vectors.</param>
    /// <param name="targetColumnName">Column of old-model vectors of the same rows (read only while fitting).</param>
    /// <param name="options">Kind and settings, validated here and again when fitting.</param>
    public EmbeddingAdapterEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, string targetColumnName, EmbeddingAdapterOptions? options = null)
        : base(env, outputColumnName, inputColumnName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(targetColumnName);
        TargetColumnName = targetColumnName;
        // The caller's instance is kept (options set later are validated at Fit); the context's seed is drawn now.
        _options = options ?? new EmbeddingAdapterOptions();
        _drawnSeed = Host.Rand.Next();
        _options.Validate();
    }

    /// <summary>Seed of a <see cref="EmbeddingAdapterKind.ResidualMlp"/> fit: <see cref="EmbeddingAdapterOptions.Seed"/>, or
    /// the one drawn from the context when the estimator was created (the linear kinds use none).</summary>
    public int Seed => _options.Seed ?? _drawnSeed;

    /// <summary>Name of the column of old-model vectors the adapter is fitted to reproduce.</summary>
    public string TargetColumnName { get; }

    /// <inheritdoc/>
    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.CheckVectorColumn(inputSchema, TargetColumnName);
        return base.GetOutputSchema(inputSchema);
    }

    /// <summary>Reads every pair of <paramref name="input"/> and fits the adapter.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or not a known-size Single vector.</exception>
    /// <exception cref="InvalidOperationException">No rows, a NaN / infinite / all-zero vector (naming column and row), no variance in the input column, or too few pairs for an unregularised fit.</exception>
    public override EmbeddingAdapterTransformer Fit(IDataView input)
    {
        _options.Validate();
        int dx = CheckInput(input);
        var target = SchemaChecks.CheckVectorColumn(input.Schema, TargetColumnName);
        int dy = ((VectorDataViewType)target.Type).Size;
        using (var ch = Host.Start("Fit"))
        {
            EmbeddingAdapterMap map;
            if (_options.Kind == EmbeddingAdapterKind.ResidualMlp)
            {
                var xs = new List<float>();
                var ys = new List<float>();
                long n = ReadPairs(input, InputColumnName, TargetColumnName, dx, dy, _options.MaxPairs, (x, y, _) => { xs.AddRange(x); ys.AddRange(y); });
                if (n > int.MaxValue / Math.Max(dx, dy))
                    throw new InvalidOperationException($"ResidualMlp holds its pairs in memory: {n} pairs of {dx} + {dy} values are too many; set EmbeddingAdapterOptions.MaxPairs.");
                ch.Info($"Embedding adapter ResidualMlp: {n} pairs, hidden {_options.HiddenSize} ({_options.Activation}), loss {_options.Loss} + {_options.ContrastiveWeight:G3} InfoNCE (τ {_options.Temperature:G3}), seed {Seed}");
                ch.GemmBackend();
                var seeded = _options.Clone();
                seeded.Seed = Seed;
                map = ResidualMlp.Fit(xs.ToArray(), ys.ToArray(), (int)n, dx, dy, seeded, m => ch.Info(m), () => CatalogEnvironment.CheckAlive(Host));
                ch.Info($"Embedding adapter ResidualMlp: kept epoch {map.Diagnostics.BestEpoch} of {map.Diagnostics.Iterations}, held-out cosine {map.Diagnostics.ValidationCosine:F4} (linear start {map.Diagnostics.LinearStart}: {map.Diagnostics.LinearValidationCosine:F4})");
                return new EmbeddingAdapterTransformer(OutputColumnName, InputColumnName, map);
            }
            var folds = ReadFolds(input, InputColumnName, TargetColumnName, dx, dy, _options.Folds, _options.MaxPairs);
            map = EmbeddingAdapterFitter.Fit(folds, _options);
            var d = map.Diagnostics;
            ch.Info($"Embedding adapter {map.Kind}: {dx} -> {map.OutputSize} from {d.Pairs} pairs; ridge {d.Ridge:G4}, scale {d.Scale:G4}, train MSE per pair {d.TrainError:G5}, orthogonality error {d.OrthogonalityError:G4}");
            if (!d.Converged)
                ch.Warning($"Embedding adapter {map.Kind}: the optimiser stopped after {d.Iterations} iterations without meeting its tolerance {_options.Tolerance:G3} (raise MaxIterations)");
            return new EmbeddingAdapterTransformer(OutputColumnName, InputColumnName, map);
        }
    }

    internal static PairedStatistics[] ReadFolds(IDataView data, string xName, string yName, int dx, int dy, int foldCount, long maxPairs)
    {
        var folds = Enumerable.Range(0, foldCount).Select(_ => new PairedStatistics(dx, dy)).ToArray();
        ReadPairs(data, xName, yName, dx, dy, maxPairs, (x, y, row) => folds[(int)(row % foldCount)].Add(x, y));
        return folds;
    }

    /// <summary>Streams the checked pairs of the two columns (at most <paramref name="maxPairs"/>) to <paramref name="pair"/>.</summary>
    internal static long ReadPairs(IDataView data, string xName, string yName, int dx, int dy, long maxPairs, PairAction pair)
    {
        var xCol = data.Schema[xName];
        var yCol = data.Schema[yName];
        var xd = new float[dx];
        var yd = new float[dy];
        VBuffer<float> xb = default, yb = default;
        long rows = 0;
        using (var cursor = data.GetRowCursor(xName == yName ? [xCol] : [xCol, yCol]))
        {
            var xg = cursor.GetGetter<VBuffer<float>>(xCol);
            var yg = cursor.GetGetter<VBuffer<float>>(yCol);
            while (rows < maxPairs && cursor.MoveNext())
            {
                xg(ref xb);
                yg(ref yb);
                xb.CopyTo(xd);
                yb.CopyTo(yd);
                CheckVector(xd, xName, cursor.Position);
                CheckVector(yd, yName, cursor.Position);
                pair(xd, yd, rows++);
            }
        }
        if (rows == 0)
            throw new InvalidOperationException($"Columns '{xName}' and '{yName}' have no rows: cannot fit an embedding adapter on empty data.");
        return rows;
    }

    internal delegate void PairAction(ReadOnlySpan<float> x, ReadOnlySpan<float> y, long row);

    private static void CheckVector(ReadOnlySpan<float> v, string column, long row)
    {
        SchemaChecks.CheckFinite(v, column, row);
        if (System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(v) == 0)
            throw new InvalidOperationException($"Column '{column}' holds an all-zero vector at row {row}: an embedding needs a direction; drop the row or re-embed the item.");
    }
}

/// <summary>
/// A fitted embedding adapter in a pipeline: appends y = x W + b (+ σ(x W1 + c1) W2 for a residual MLP; optionally
/// L2-normalised) computed from the new-model vector column. Lazy, usable in a <see cref="PredictionEngine{TSrc, TDst}"/>,
/// exports to ONNX as MatMul + Add (+ Gelu or Relu).
/// </summary>
public sealed class EmbeddingAdapterTransformer : VectorTransformer
{
    internal EmbeddingAdapterTransformer(string outputColumnName, string inputColumnName, EmbeddingAdapterMap map)
        : base(outputColumnName, inputColumnName, map.InputSize, map.OutputSize)
        => Adapter = map;

    /// <summary>The fitted map (weights, bias, diagnostics), usable outside pipelines (e.g. to migrate an index in batches).</summary>
    public EmbeddingAdapterMap Adapter { get; }

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch) => Adapter.ApplyUnchecked(input, output, 1);

    /// <inheritdoc/>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
    {
        var w = graph.AddInitializer("adapter_w", Adapter.Weights, InputSize, OutputSize);
        var b = graph.AddInitializer("adapter_b", Adapter.Bias, OutputSize);
        var y = graph.AddNode("Add", [graph.AddNode("MatMul", [input, w]), b]);
        if (Adapter.Hidden is { } h)
        {
            var w1 = graph.AddInitializer("adapter_w1", h.W1, InputSize, h.Size);
            var c1 = graph.AddInitializer("adapter_c1", h.C1, h.Size);
            var w2 = graph.AddInitializer("adapter_w2", h.W2, h.Size, OutputSize);
            var z = graph.AddNode("Add", [graph.AddNode("MatMul", [input, w1]), c1]);
            var a = h.Activation == AdapterActivation.Relu ? graph.AddNode("Relu", [z]) : graph.AddNode("Gelu", [z]);
            y = graph.AddNode("Add", [y, graph.AddNode("MatMul", [a, w2])]);
        }
        if (!Adapter.NormalizeOutput) return y;
        var axes = graph.AddInitializer("axes", [1L], 1);
        var norm = graph.AddNode("ReduceL2", [y, axes], ("keepdims", 1L));
        return graph.AddNode("Div", [y, norm]);
    }
}
