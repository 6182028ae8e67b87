using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.TimeSeries;

/// <summary>Rarely changed settings of <see cref="OrthoTransEstimator"/>.</summary>
public sealed class OrthoTransOptions
{
    /// <summary>Keep only the leading k coefficients; <see langword="null"/>: all (or <see cref="RetainedEnergy"/>).</summary>
    public int? Components { get; set; }

    /// <summary>Keep the fewest leading coefficients whose eigenvalues hold this fraction of the trace, in (0, 1];
    /// ignored when <see cref="Components"/> is set.</summary>
    public double? RetainedEnergy { get; set; }

    /// <summary>Normalisation of the lag covariance (default the temporal Pearson correlation).</summary>
    public OrthoTransNormalization Normalization { get; set; } = OrthoTransNormalization.Symmetric;

    /// <summary>
    /// Optional column holding each window's channel (Int32, UInt32, Int64 or Single). With it the covariance is
    /// computed per channel and the normalised matrices averaged (OLinear's recipe); without it all windows form one
    /// pool. Either way one pooled basis is fitted (the transformer maps every row with it); for one basis per
    /// channel use <see cref="OrthoTransBasis.FitPerChannel"/> and one transformer per channel.
    /// </summary>
    public string? ChannelColumnName { get; set; }

    /// <summary>Channels with a lag variance below this are skipped (OLinear: 1e-4).</summary>
    public double MinLagVariance { get; set; } = 1e-4;

    /// <summary>Fit on at most this many rows.</summary>
    public long MaxRows { get; set; } = long.MaxValue;

    /// <summary>Checks the options that do not depend on the data (when the estimator is created and when it is
    /// fitted); messages name the option.</summary>
    internal void Validate()
    {
        SchemaChecks.CheckOption(Components is null or > 0, nameof(Components), Components, "positive");
        SchemaChecks.CheckOption(RetainedEnergy is null or > 0 and <= 1, nameof(RetainedEnergy), RetainedEnergy, "in (0, 1]");
        SchemaChecks.CheckOption(Enum.IsDefined(Normalization), nameof(Normalization), Normalization, "a defined OrthoTransNormalization");
        SchemaChecks.CheckOption(MinLagVariance >= 0 && double.IsFinite(MinLagVariance), nameof(MinLagVariance), MinLagVariance, "finite and >= 0");
        SchemaChecks.CheckOption(MaxRows > 0, nameof(MaxRows), MaxRows, "positive");
    }
}

/// <summary>
/// Fits an OrthoTrans basis (OLinear, Yue et al. 2025, arXiv 2505.08550) from a column of windows
/// <c>Vector&lt;Single, L&gt;</c> and produces an <see cref="OrthoTransTransformer"/> that maps each window x to its
/// decorrelated coefficients z = P_k x (the leading k eigenvectors of the windows' temporal correlation matrix).
/// </summary>
/// <remarks>
/// The estimator sees rows, not a series: it takes the covariance across the given windows, of all rows as one pool
/// or per channel when <see cref="OrthoTransOptions.ChannelColumnName"/> is set (then averaged, as OLinear does),
/// normalised per <see cref="OrthoTransOptions.Normalization"/>. For the authors' exact recipe from a whole series
/// (every stride-1 window of each channel) use <see cref="OrthoTransBasis.Fit"/> and
/// <see cref="TimeSeriesCatalog.OrthoTrans(TransformsCatalog, OrthoTransBasis, string, string?, int?)"/>.
/// </remarks>
public sealed class OrthoTransEstimator : VectorEstimator<OrthoTransTransformer>
{
    private readonly OrthoTransOptions _options;

    internal OrthoTransEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName, OrthoTransOptions? options)
        : base(env, outputColumnName, inputColumnName)
    {
        _options = options ?? new OrthoTransOptions();
        _options.Validate();
    }

    /// <inheritdoc/>
    public override OrthoTransTransformer Fit(IDataView input)
    {
        _options.Validate();
        int length = CheckInput(input);
        SchemaChecks.CheckOption(_options.Components is null || _options.Components <= length, nameof(OrthoTransOptions.Components),
            _options.Components, $"at most the window length {length}");
        var (values, rows, _) = VectorColumn.Read(input, InputColumnName, _options.MaxRows);
        int[]? channels = _options.ChannelColumnName is { } ch ? ReadChannels(input, ch, rows) : null;
        var basis = OrthoTransBasis.FitWindows(values, length, channels, _options.Normalization, _options.MinLagVariance);
        int k = _options.Components ?? (_options.RetainedEnergy is { } e ? basis.ComponentsForEnergy(e) : length);
        using (var log = Host.Start("Fit"))
        {
            var mu = basis.Eigenvalues;
            log.Info($"OrthoTrans basis of length {length} from {rows} windows ({_options.Normalization}): keeping {k} components with {basis.RetainedEnergy(k):P2} of the trace; eigenvalues {mu[0]:G4} to {mu[k - 1]:G4} kept (condition number {mu[0] / mu[k - 1]:G4}), {mu[^1]:G4} smallest");
        }
        return new OrthoTransTransformer(OutputColumnName, InputColumnName, basis, k);
    }

    private static int[] ReadChannels(IDataView data, string column, int rows)
    {
        var col = data.Schema.GetColumnOrNull(column)
            ?? throw new ArgumentOutOfRangeException(nameof(column), $"Schema mismatch for input column '{column}': column not found in the input schema.");
        var raw = col.Type.RawType;
        Func<DataViewRowCursor, Func<int>> make = raw switch
        {
            _ when raw == typeof(int) => c => { var g = c.GetGetter<int>(col); return () => { int v = 0; g(ref v); return v; }; },
            _ when raw == typeof(uint) => c => { var g = c.GetGetter<uint>(col); return () => { uint v = 0; g(ref v); return (int)v; }; },
            _ when raw == typeof(long) => c => { var g = c.GetGetter<long>(col); return () => { long v = 0; g(ref v); return (int)v; }; },
            _ when raw == typeof(float) => c => { var g = c.GetGetter<float>(col); return () => { float v = 0; g(ref v); return (int)v; }; },
            _ => throw new ArgumentOutOfRangeException(nameof(column), $"Schema mismatch for input column '{column}': expected Int32, UInt32, Int64 or Single, got {SchemaChecks.Describe(col.Type)}."),
        };
        var result = new int[rows];
        using var cursor = data.GetRowCursor([col]);
        var get = make(cursor);
        for (int r = 0; r < rows && cursor.MoveNext(); r++) result[r] = get();
        return result;
    }
}

/// <summary>
/// Maps a window x (<c>Vector&lt;Single, L&gt;</c>) to its leading k OrthoTrans coefficients z = P_k x
/// (<c>Vector&lt;Single, k&gt;</c>). Lazy, thread-safe, PredictionEngine-ready; ONNX: one MatMul.
/// </summary>
public sealed class OrthoTransTransformer : VectorTransformer
{
    internal OrthoTransTransformer(string outputColumnName, string inputColumnName, OrthoTransBasis basis, int components)
        : base(outputColumnName, inputColumnName, basis.Length, components)
    {
        Basis = basis;
    }

    /// <summary>The full fitted basis (all L eigenvectors and eigenvalues).</summary>
    public OrthoTransBasis Basis { get; }

    /// <summary>Number of coefficients kept (k).</summary>
    public int Components => OutputSize;

    /// <summary>Fraction of the trace held by the kept components.</summary>
    public double RetainedEnergy => Basis.RetainedEnergy(Components);

    /// <summary>
    /// The inverse transformer: maps k coefficients back to a window x = P_k^T z (exact when k = L; otherwise the
    /// projection of the window onto the kept components).
    /// </summary>
    /// <param name="outputColumnName">Column for the reconstructed windows.</param>
    /// <param name="inputColumnName">Column of coefficients; <see langword="null"/>: this transformer's output column.</param>
    public OrthoTransInverseTransformer CreateInverse(string outputColumnName, string? inputColumnName = null)
        => new(outputColumnName, inputColumnName ?? OutputColumnName, Basis, Components);

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch) => Basis.Project(input, output);

    /// <inheritdoc/>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
    {
        // Q_k = P_k^T, shape [L, k].
        int l = InputSize, k = OutputSize;
        var q = new float[l * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < l; j++)
                q[j * k + i] = Basis.Vectors[i * l + j];
        return graph.AddNode("MatMul", [input, graph.AddInitializer("orthotrans_q", q, l, k)]);
    }
}

/// <summary>Maps k OrthoTrans coefficients back to a window x = P_k^T z. ONNX: one MatMul.</summary>
public sealed class OrthoTransInverseTransformer : VectorTransformer
{
    internal OrthoTransInverseTransformer(string outputColumnName, string inputColumnName, OrthoTransBasis basis, int components)
        : base(outputColumnName, inputColumnName, components, basis.Length)
    {
        Basis = basis;
    }

    /// <summary>The basis.</summary>
    public OrthoTransBasis Basis { get; }

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch) => Basis.Reconstruct(input, output);

    /// <inheritdoc/>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
        => graph.AddNode("MatMul", [input, graph.AddInitializer("orthotrans_p", Basis.Vectors[..(InputSize * OutputSize)], InputSize, OutputSize)]);
}
