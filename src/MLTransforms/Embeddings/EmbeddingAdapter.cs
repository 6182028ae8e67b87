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
/// <see cref="PairedStatistics"/> (one per cross-validation fold), so memory stays O(d²) for any number of rows.
/// </summary>
/// <remarks>To migrate an index (old -> new) swap the roles: input = old-model column, target = new-model column.</remarks>
public sealed class EmbeddingAdapterEstimator : VectorEstimator<EmbeddingAdapterTransformer>
{
    private readonly EmbeddingAdapterOptions _options;

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
        _options = options ?? new EmbeddingAdapterOptions();
        _options.Validate();
    }

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
        var folds = ReadFolds(input, InputColumnName, TargetColumnName, dx, dy, _options.Folds, _options.MaxPairs);
        var map = EmbeddingAdapterFitter.Fit(folds, _options);
        using (var ch = Host.Start("Fit"))
        {
            var d = map.Diagnostics;
            ch.Info($"Embedding adapter {map.Kind}: {dx} -> {map.OutputSize} from {d.Pairs} pairs; ridge {d.Ridge:G4}, scale {d.Scale:G4}, train MSE per pair {d.TrainError:G5}, orthogonality error {d.OrthogonalityError:G4}");
            if (!d.Converged)
                ch.Warning($"Embedding adapter {map.Kind}: the optimiser stopped after {d.Iterations} iterations without meeting its tolerance {_options.Tolerance:G3} (raise MaxIterations)");
        }
        return new EmbeddingAdapterTransformer(OutputColumnName, InputColumnName, map);
    }

    internal static PairedStatistics[] ReadFolds(IDataView data, string xName, string yName, int dx, int dy, int foldCount, long maxPairs)
    {
        var folds = Enumerable.Range(0, foldCount).Select(_ => new PairedStatistics(dx, dy)).ToArray();
        var xCol = data.Schema[xName];
        var yCol = data.Schema[yName];
        const int batch = 256;
        var xs = Enumerable.Range(0, foldCount).Select(_ => new float[batch * dx]).ToArray();
        var ys = Enumerable.Range(0, foldCount).Select(_ => new float[batch * dy]).ToArray();
        var counts = new int[foldCount];
        VBuffer<float> xb = default, yb = default;
        long rows = 0;
        using (var cursor = data.GetRowCursor(xName == yName ? [xCol] : [xCol, yCol]))
        {
            var xg = cursor.GetGetter<VBuffer<float>>(xCol);
            var yg = cursor.GetGetter<VBuffer<float>>(yCol);
            while (rows < maxPairs && cursor.MoveNext())
            {
                int f = (int)(rows % foldCount);
                xg(ref xb);
                yg(ref yb);
                var xd = xs[f].AsSpan(counts[f] * dx, dx);
                var yd = ys[f].AsSpan(counts[f] * dy, dy);
                xb.CopyTo(xd);
                yb.CopyTo(yd);
                CheckVector(xd, xName, cursor.Position);
                CheckVector(yd, yName, cursor.Position);
                if (++counts[f] == batch)
                {
                    folds[f].AddBatch(xs[f], ys[f], batch);
                    counts[f] = 0;
                }
                rows++;
            }
        }
        for (int f = 0; f < foldCount; f++)
            if (counts[f] > 0)
                folds[f].AddBatch(xs[f].AsSpan(0, counts[f] * dx), ys[f].AsSpan(0, counts[f] * dy), counts[f]);
        if (rows == 0)
            throw new InvalidOperationException($"Columns '{xName}' and '{yName}' have no rows: cannot fit an embedding adapter on empty data.");
        return folds;
    }

    private static void CheckVector(ReadOnlySpan<float> v, string column, long row)
    {
        SchemaChecks.CheckFinite(v, column, row);
        if (System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(v) == 0)
            throw new InvalidOperationException($"Column '{column}' holds an all-zero vector at row {row}: an embedding needs a direction; drop the row or re-embed the item.");
    }
}

/// <summary>
/// A fitted embedding adapter in a pipeline: appends y = x W + b (optionally L2-normalised) computed from the
/// new-model vector column. Lazy, usable in a <see cref="PredictionEngine{TSrc, TDst}"/>, exports to ONNX as MatMul + Add.
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
        if (!Adapter.NormalizeOutput) return y;
        var axes = graph.AddInitializer("axes", [1L], 1);
        var norm = graph.AddNode("ReduceL2", [y, axes], ("keepdims", 1L));
        return graph.AddNode("Div", [y, norm]);
    }
}
