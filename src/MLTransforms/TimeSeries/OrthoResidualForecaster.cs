using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.TimeSeries;

/// <summary>Settings of <see cref="OrthoResidualForecastEstimator"/>.</summary>
public sealed class OrthoResidualOptions
{
    /// <summary>Leading output coefficients corrected by the trainer (one model each).</summary>
    public int Components { get; set; } = 8;

    /// <summary>Leading input coefficients given to the trainer as features (plus the window's mean and standard
    /// deviation and the ridge's leading <see cref="Components"/> forecast coefficients).</summary>
    public int FeatureComponents { get; set; } = 32;

    /// <summary>Train each model on at most this many randomly chosen windows (seeded).</summary>
    public int MaxTrainingWindows { get; set; } = 20000;

    /// <summary>Validation windows used to choose each correction's shrinkage.</summary>
    public int MaxValidationWindows { get; set; } = 20000;

    /// <summary>Seed of the window subsampling and of the ML.NET context the correction models are trained in.
    /// Default <see langword="null"/>: drawn from the estimator's host when it is created, i.e. from the seed of the
    /// <see cref="MLContext"/>, as ML.NET's own components do. An explicit seed always wins.</summary>
    public int? Seed { get; set; }

    /// <summary>Feature column the trainer reads (its default is <c>Features</c>).</summary>
    public string FeatureColumnName { get; set; } = "Features";

    /// <summary>Label column the trainer reads (its default is <c>Label</c>).</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Settings of the underlying ridge forecaster (default: <see cref="OrthoRidgeOptions"/>'s defaults).</summary>
    public OrthoRidgeOptions Ridge { get; set; } = new();

    /// <summary>Checks every option (called when the estimator is created and when it is fitted); messages name the option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public void Validate()
    {
        SchemaChecks.CheckOption(Components > 0, nameof(Components), Components, "positive");
        SchemaChecks.CheckOption(FeatureComponents > 0, nameof(FeatureComponents), FeatureComponents, "positive");
        SchemaChecks.CheckOption(MaxTrainingWindows > 0, nameof(MaxTrainingWindows), MaxTrainingWindows, "positive");
        SchemaChecks.CheckOption(MaxValidationWindows > 0, nameof(MaxValidationWindows), MaxValidationWindows, "positive");
        SchemaChecks.CheckOption(!string.IsNullOrWhiteSpace(FeatureColumnName), nameof(FeatureColumnName), FeatureColumnName, "a column name");
        SchemaChecks.CheckOption(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "a column name");
        SchemaChecks.CheckOption(Ridge is not null, nameof(Ridge), null, "ridge settings");
        Ridge!.Validate();
    }
}

/// <summary>
/// The nonlinear route: fits the <see cref="OrthoRidgeForecaster"/>, then for each of the leading k output OrthoTrans
/// coefficients c_i = &lt;p_H,i, y - m&gt; fits any ML.NET regression trainer to the ridge's residual on that
/// coefficient, from features [P_T,F (x - m); m; s; c_hat_1..k] (c_hat the ridge's own forecast coefficients). OrthoTrans makes the target coefficients decorrelated, which is
/// what makes independent single-output models reasonable; each correction is shrunk by a factor in [0, 1] chosen
/// on validation windows (0 when it does not help), so the result validates at least as well as the ridge.
/// Forecast: y = M x + sum_i g_i f_i(features) p_H,i.
/// </summary>
public sealed class OrthoResidualForecastEstimator : IEstimator<OrthoResidualForecaster>
{
    private readonly IEstimator<ITransformer> _trainer;
    private readonly OrthoResidualOptions _options;
    private readonly OrthoRidgeForecastEstimator _ridge;
    private readonly string _output, _input;
    private readonly IHost _host;

    internal OrthoResidualForecastEstimator(IHostEnvironment env, IEstimator<ITransformer> trainer, string outputColumnName,
        string inputColumnName, OrthoResidualOptions? options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        _host = env.Register(nameof(OrthoResidualForecastEstimator));
        _trainer = trainer;
        _options = options ?? new OrthoResidualOptions();
        _options.Validate();
        Seed = _options.Seed ?? _host.Rand.Next();
        _output = outputColumnName;
        _input = inputColumnName;
        _ridge = new OrthoRidgeForecastEstimator(_host, outputColumnName, inputColumnName, _options.Ridge);
    }

    /// <summary>Seed of the window subsampling and of the correction models' context: <see cref="OrthoResidualOptions.Seed"/>,
    /// or the one drawn from the context when the estimator was created.</summary>
    public int Seed { get; }

    /// <summary>Fits on a <see cref="ForecastSplit"/>: the ridge on all train windows, the trainer on a subsample,
    /// shrinkage on (a subsample of) the validation windows.</summary>
    public OrthoResidualForecaster Fit(ForecastSplit split)
    {
        ArgumentNullException.ThrowIfNull(split);
        _options.Validate();
        var sw = Stopwatch.StartNew();
        var ridge = _ridge.Fit(split);
        var tr = split.Train.Sample(_options.MaxTrainingWindows, Seed);
        var va = split.Validation.Sample(_options.MaxValidationWindows, Seed + 1);
        return FitCorrections(ridge, split.Train.InputArray(tr), split.Train.TargetArray(tr),
            split.Validation.InputArray(va), split.Validation.TargetArray(va), sw);
    }

    /// <summary>Fits on a data view of windows (input column and <see cref="OrthoRidgeOptions.TargetColumnName"/>);
    /// every fifth block of 64 rows is held out to choose the ridge penalties and the shrinkage.</summary>
    public OrthoResidualForecaster Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate();
        var sw = Stopwatch.StartNew();
        var ridge = _ridge.Fit(input);
        var (x, rows, t) = VectorColumn.Read(input, _input);
        var (y, _, h) = VectorColumn.Read(input, _options.Ridge.TargetColumnName);
        var held = Enumerable.Range(0, rows).Where(r => r / 64 % 5 == 4).ToArray();
        var kept = Enumerable.Range(0, rows).Where(r => r / 64 % 5 != 4).ToArray();
        var rng = Core.Numerics.SplitMix64.For(Seed, stream: 0x5245_5344UL);
        rng.Shuffle(kept.AsSpan());
        kept = kept.Take(_options.MaxTrainingWindows).ToArray();
        if (held.Length == 0) held = kept;
        return FitCorrections(ridge, Gather(x, t, kept), Gather(y, h, kept), Gather(x, t, held), Gather(y, h, held), sw);

        static float[] Gather(float[] a, int size, int[] rows)
        {
            var r = new float[rows.Length * size];
            for (int i = 0; i < rows.Length; i++) a.AsSpan(rows[i] * size, size).CopyTo(r.AsSpan(i * size));
            return r;
        }
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.CheckVectorColumn(inputSchema, _input);
        return SchemaChecks.WithVectorColumn(inputSchema, _output, _input);
    }

    private OrthoResidualForecaster FitCorrections(OrthoRidgeForecaster ridge, float[] x, float[] y, float[] vx, float[] vy, Stopwatch sw)
    {
        int t = ridge.Lookback, h = ridge.Horizon;
        int k = Math.Min(_options.Components, h), f = Math.Min(_options.FeatureComponents, t);
        var features = new ResidualFeatures(_options.FeatureColumnName, _input, ridge, f, k);
        var ml = new MLContext(Seed);
        var (trainFeatures, trainResid) = Residuals(ridge, features, x, y, k);
        var (valFeatures, valResid) = Residuals(ridge, features, vx, vy, k);
        int n = x.Length / t, nv = vx.Length / t;
        var models = new ITransformer[k];
        var shrink = new float[k];
        using var ch = _host.Start("Fit");
        ch.Info($"OrthoResidual: {k} corrections of {h} output coefficients from {features.OutputSize} features, {n} train and {nv} validation windows, seed {Seed}");
        for (int i = 0; i < k; i++)
        {
            // A long fit: stop between correction models when the context was cancelled (MLContext.CancelExecution).
            CatalogEnvironment.CheckAlive(_host);
            var data = Rows(ml, trainFeatures, trainResid, i, n, features.OutputSize, k);
            models[i] = _trainer.Fit(data);
            var scored = models[i].Transform(Rows(ml, valFeatures, valResid, i, nv, features.OutputSize, k));
            var pred = scored.GetColumn<float>("Score").ToArray();
            double num = 0, den = 0;
            for (int r = 0; r < nv; r++) { num += pred[r] * valResid[r * k + i]; den += (double)pred[r] * pred[r]; }
            shrink[i] = den > 0 ? (float)Math.Clamp(num / den, 0, 1) : 0;
            ch.Info($"Correction {i + 1} of {k}: shrinkage {shrink[i]:G4}");
        }
        return new OrthoResidualForecaster(ml, ridge, features, models, shrink, _output, _input, _options, sw.Elapsed);
    }

    private static (float[] Features, float[] Residuals) Residuals(OrthoRidgeForecaster ridge, ResidualFeatures features, float[] x, float[] y, int k)
    {
        int t = ridge.Lookback, h = ridge.Horizon, n = x.Length / t, fs = features.OutputSize;
        var feats = new float[n * fs];
        var resid = new float[n * k];
        var pred = new float[n * h];
        ridge.Forecast(x, pred);
        var diff = new float[h];
        for (int r = 0; r < n; r++)
        {
            features.Compute(x.AsSpan(r * t, t), feats.AsSpan(r * fs, fs));
            System.Numerics.Tensors.TensorPrimitives.Subtract(y.AsSpan(r * h, h), pred.AsSpan(r * h, h), diff);
            for (int i = 0; i < k; i++)
                resid[r * k + i] = System.Numerics.Tensors.TensorPrimitives.Dot(ridge.OutputBasis.Vector(i), diff);
        }
        return (feats, resid);
    }

    private IDataView Rows(MLContext ml, float[] feats, float[] resid, int i, int n, int fs, int k)
    {
        var schema = SchemaDefinition.Create(typeof(TrainingRow));
        schema[nameof(TrainingRow.Features)].ColumnName = _options.FeatureColumnName;
        schema[nameof(TrainingRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, fs);
        schema[nameof(TrainingRow.Label)].ColumnName = _options.LabelColumnName;
        var rows = new TrainingRow[n];
        for (int r = 0; r < n; r++)
            rows[r] = new TrainingRow { Features = feats.AsSpan(r * fs, fs).ToArray(), Label = resid[r * k + i] };
        return ml.Data.LoadFromEnumerable(rows, schema);
    }

    /// <summary>One training row of a correction model.</summary>
    private sealed class TrainingRow
    {
        public float[] Features { get; set; } = [];
        public float Label { get; set; }
    }
}

/// <summary>
/// A fitted <see cref="OrthoResidualForecastEstimator"/>: an ML.NET transformer chain that maps the input window column
/// (<c>Vector&lt;Single, T&gt;</c>) to a forecast column (<c>Vector&lt;Single, H&gt;</c>): features, one regression
/// model per corrected coefficient, then y = M x + sum_i g_i f_i p_H,i. Works in PredictionEngine; temporary columns
/// are dropped.
/// </summary>
public sealed class OrthoResidualForecaster : IForecaster
{
    private readonly TransformerChain<ITransformer> _chain;
    private readonly string[] _scratch; // columns the chain writes and drops again
    private readonly string _input, _output;
    private readonly float[] _shrink;
    private readonly MLContext _ml; // the fit's context (seeded from the options), reused to score

    internal OrthoResidualForecaster(MLContext ml, OrthoRidgeForecaster ridge, VectorTransformer features, ITransformer[] models,
        float[] shrink, string output, string input, OrthoResidualOptions options, TimeSpan trainTime)
    {
        Ridge = ridge;
        _ml = ml;
        _input = input;
        _output = output;
        _shrink = shrink;
        TrainTime = trainTime;
        var parts = new List<ITransformer> { features };
        var temp = new List<string>();
        for (int i = 0; i < models.Length; i++)
        {
            parts.Add(models[i]);
            string name = $"__orthoresidual_{i}";
            temp.Add(name);
            parts.Add(ml.Transforms.CopyColumns(name, "Score").Fit(Empty(("Score", NumberDataViewType.Single))));
        }
        string concat = "__orthoresidual_input";
        parts.Add(ml.Transforms.Concatenate(concat, [input, .. temp]).Fit(Empty([(input, new VectorDataViewType(NumberDataViewType.Single, ridge.Lookback)),
            .. temp.Select(n => (n, (DataViewType)NumberDataViewType.Single))])));
        parts.Add(new Combiner(output, concat, ridge, shrink));
        string[] drop = [options.FeatureColumnName, "Score", concat, .. temp];
        parts.Add(ml.Transforms.DropColumns(drop).Fit(Empty(drop.Select(n => (n, (DataViewType)NumberDataViewType.Single)).ToArray())));
        _chain = new TransformerChain<ITransformer>(parts.ToArray());
        _scratch = drop.Where(n => n != input && n != output).ToArray();
    }

    // Dropping the scratch columns would also remove an input column of the same name (e.g. the user's own
    // "Features"), so such columns are copied aside first and put back after.
    private ITransformer ChainFor(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var kept = _scratch.Where(n => schema.GetColumnOrNull(n) is { IsHidden: false }).ToArray();
        if (kept.Length == 0) return _chain;
        var keep = kept.Select(n => $"__orthoresidual_keep_{n}").ToArray();
        var keepTypes = kept.Select((n, i) => (keep[i], schema[n].Type)).ToArray();
        var aside = kept.Select((n, i) => (ITransformer)_ml.Transforms.CopyColumns(keep[i], n).Fit(new EmptyDataView(schema)));
        var back = kept.Select((n, i) => (ITransformer)_ml.Transforms.CopyColumns(n, keep[i]).Fit(Empty(keepTypes)));
        var drop = _ml.Transforms.DropColumns(keep).Fit(Empty(keepTypes));
        return new TransformerChain<ITransformer>([.. aside, .. _chain, .. back, drop]);
    }

    /// <summary>The underlying ridge forecaster.</summary>
    public OrthoRidgeForecaster Ridge { get; }

    /// <summary>Shrinkage g_i of each correction, chosen on validation windows (0: the correction did not help).</summary>
    public IReadOnlyList<float> Shrinkage => _shrink;

    /// <summary>Wall time of the whole fit (ridge and corrections).</summary>
    public TimeSpan TrainTime { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => ((ITransformer)_chain).IsRowToRowMapper;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => ChainFor(inputSchema).GetOutputSchema(inputSchema);

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ChainFor(inputSchema).GetRowToRowMapper(inputSchema);

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return ChainFor(input.Schema).Transform(input);
    }

    /// <summary>Lookback T.</summary>
    public int Lookback => Ridge.Lookback;

    /// <summary>Horizon H.</summary>
    public int Horizon => Ridge.Horizon;

    /// <summary>Channels per window: 1 (channel-independent).</summary>
    public int Channels => 1;

    // Saved as its ONNX graph, like every component (see OnnxPersistence): the stitched export of its chain.
    void ICanSaveModel.Save(ModelSaveContext ctx)
        => OnnxPersistence.Save(OnnxPersistence.StandIn(_input, Lookback, _output, (i, o) => ToOnnxBytes(OnnxGraphForm.Row, i, o)), ctx);

    /// <inheritdoc/>
    /// <remarks>The graph is the whole chain: the feature step and the combination as MLTransforms graphs, each
    /// correction model as ML.NET's ONNX converter writes it (e.g. <c>TreeEnsembleRegressor</c> for FastTree and
    /// LightGbm). A trainer that ML.NET cannot convert makes this throw, naming the step.</remarks>
    public byte[] ToOnnxBytes(OnnxGraphForm form = OnnxGraphForm.Batched, string? inputName = null, string? outputName = null)
        => Google.Protobuf.MessageExtensions.ToByteArray(ToOnnxModel(form, inputName, outputName));

    internal global::Onnx.ModelProto ToOnnxModel(OnnxGraphForm form, string? inputName, string? outputName)
    {
        string input = inputName ?? _input;
        string output = outputName ?? (_output == input ? _output + ".output" : _output);
        var schema = Empty((_input, new VectorDataViewType(NumberDataViewType.Single, Lookback))).Schema;
        var stitched = _ml.Model.ExportToOnnxModel(_chain, schema, new OnnxExportOptions { OutputColumns = [_output] });
        return OnnxComponentGraph.Reform(stitched, Lookback, Horizon, form, input, output);
    }

    /// <inheritdoc/>
    public ForecastMetrics Evaluate(WindowSet windows) => ForecastEvaluation.Evaluate(windows, this);

    /// <inheritdoc/>
    public float[] Forecast(ReadOnlySpan<float> window)
    {
        if (window.Length != Lookback)
            throw new ArgumentException($"Got {window.Length} values; one window is T = {Lookback} values.", nameof(window));
        var result = new float[Horizon];
        Forecast(window, result);
        return result;
    }

    /// <inheritdoc/>
    /// <remarks>The batch goes through the transformer chain once (features, every correction model, combination).</remarks>
    public void Forecast(ReadOnlySpan<float> windows, Span<float> forecasts)
    {
        int t = Ridge.Lookback, h = Ridge.Horizon;
        if (windows.Length % t != 0)
            throw new ArgumentException($"Window data holds {windows.Length} values, not a multiple of the lookback {t}.", nameof(windows));
        int n = windows.Length / t;
        if (forecasts.Length != n * h)
            throw new ArgumentException($"Forecast buffer holds {forecasts.Length} values; {n} windows need {n} x {h}.", nameof(forecasts));
        var rows = new WindowRow[n];
        for (int r = 0; r < n; r++)
        {
            var x = windows.Slice(r * t, t);
            SchemaChecks.CheckFinite(x, Ridge.InputColumnName, r);
            rows[r] = new WindowRow { Input = x.ToArray() };
        }
        var schema = SchemaDefinition.Create(typeof(WindowRow));
        schema[nameof(WindowRow.Input)].ColumnName = Ridge.InputColumnName;
        schema[nameof(WindowRow.Input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, t);
        var data = _ml.Data.LoadFromEnumerable(rows, schema);
        int row = 0;
        foreach (var v in Transform(data).GetColumn<float[]>(Ridge.OutputColumnName))
            v.CopyTo(forecasts.Slice(h * row++, h));
    }

    /// <summary>A window row for <see cref="Forecast(ReadOnlySpan{float}, Span{float})"/>.</summary>
    private sealed class WindowRow
    {
        public float[] Input { get; set; } = [];
    }

    private static IDataView Empty(params (string Name, DataViewType Type)[] columns)
    {
        var b = new DataViewSchema.Builder();
        foreach (var (name, type) in columns) b.AddColumn(name, type);
        return new EmptyDataView(b.ToSchema());
    }

    /// <summary>[x; f_1 .. f_k] (T + k) to y = M x + sum_i g_i f_i p_H,i (H).</summary>
    private sealed class Combiner(string output, string input, OrthoRidgeForecaster ridge, float[] shrink)
        : VectorTransformer(output, input, ridge.Lookback + shrink.Length, ridge.Horizon)
    {
        protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
        {
            int t = ridge.Lookback;
            var w = ridge.Weights;
            for (int i = 0; i < output.Length; i++)
                output[i] = System.Numerics.Tensors.TensorPrimitives.Dot(w.Slice(i * t, t), input[..t]);
            for (int i = 0; i < shrink.Length; i++)
                if (shrink[i] != 0)
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(ridge.OutputBasis.Vector(i), shrink[i] * input[t + i], output, output);
        }

        protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
        {
            int t = ridge.Lookback, h = ridge.Horizon, k = shrink.Length;
            var m = new float[(t + k) * h];
            var w = ridge.Weights;
            for (int i = 0; i < h; i++)
                for (int j = 0; j < t; j++)
                    m[j * h + i] = w[i * t + j];
            for (int c = 0; c < k; c++)
                for (int i = 0; i < h; i++)
                    m[(t + c) * h + i] = shrink[c] * ridge.OutputBasis.Vector(c)[i];
            return graph.AddNode("MatMul", [input, graph.AddInitializer("orthoresidual_m", m, t + k, h)]);
        }
    }
}

/// <summary>
/// Features of one window for the correction models: [P_T,F (x - m); m; s; c_hat] (length F + 2 + K), with c_hat
/// the ridge forecast's leading K output coefficients, so the models can correct it as a function of itself.
/// </summary>
internal sealed class ResidualFeatures : VectorTransformer
{
    private readonly OrthoTransBasis _basis;
    private readonly int _components, _outputs;
    private readonly float[] _vectorSums, _forecastRows, _outputSums;

    public ResidualFeatures(string output, string input, OrthoRidgeForecaster ridge, int components, int outputs)
        : base(output, input, ridge.Lookback, components + 2 + outputs)
    {
        _basis = ridge.InputBasis;
        _components = components;
        _outputs = outputs;
        _vectorSums = Enumerable.Range(0, components).Select(i => System.Numerics.Tensors.TensorPrimitives.Sum(_basis.Vector(i))).ToArray();
        // c_hat_i = <q_i, M x - m 1> = (q_i^T M) x - m <q_i, 1>.
        int t = ridge.Lookback, h = ridge.Horizon;
        _forecastRows = new float[outputs * t];
        _outputSums = new float[outputs];
        var w = ridge.Weights;
        for (int i = 0; i < outputs; i++)
        {
            var q = ridge.OutputBasis.Vector(i);
            var row = _forecastRows.AsSpan(i * t, t);
            for (int j = 0; j < h; j++) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(w.Slice(j * t, t), q[j], row, row);
            _outputSums[i] = System.Numerics.Tensors.TensorPrimitives.Sum(q);
        }
    }

    public void Compute(ReadOnlySpan<float> x, Span<float> f) => Map(x, f, default);

    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
    {
        int k = _components, t = input.Length;
        float m = System.Numerics.Tensors.TensorPrimitives.Sum(input) / t;
        for (int i = 0; i < k; i++)
            output[i] = System.Numerics.Tensors.TensorPrimitives.Dot(_basis.Vector(i), input) - m * _vectorSums[i]; // <p, x - m 1>
        float sumSq = 0;
        foreach (var v in input) sumSq += (v - m) * (v - m);
        output[k] = m;
        output[k + 1] = MathF.Sqrt(sumSq / t);
        for (int i = 0; i < _outputs; i++)
            output[k + 2 + i] = System.Numerics.Tensors.TensorPrimitives.Dot(_forecastRows.AsSpan(i * t, t), input) - m * _outputSums[i];
    }

    // Everything but the spread is linear in x: <p, x - m 1> = x . (p - sum(p)/T), m = x . 1/T, c_hat likewise.
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
    {
        int k = _components, t = InputSize;
        var lead = new float[t * (k + 1)];  // [T, k + 1]: the k basis coefficients and the mean
        var tail = new float[t * _outputs]; // [T, K]: c_hat
        for (int j = 0; j < t; j++)
        {
            for (int i = 0; i < k; i++) lead[j * (k + 1) + i] = _basis.Vector(i)[j] - _vectorSums[i] / t;
            lead[j * (k + 1) + k] = 1f / t;
            for (int i = 0; i < _outputs; i++) tail[j * _outputs + i] = _forecastRows[i * t + j] - _outputSums[i] / t;
        }
        var axis = graph.AddInitializer("residual_axis", [1L], 1);
        var mean = graph.AddNode("ReduceMean", [input, axis], ("keepdims", 1L));
        var centred = graph.AddNode("Sub", [input, mean]);
        var spread = graph.AddNode("Sqrt", [graph.AddNode("ReduceMean", [graph.AddNode("Mul", [centred, centred]), axis], ("keepdims", 1L))]);
        var first = graph.AddNode("MatMul", [input, graph.AddInitializer("residual_lead", lead, t, k + 1)]);
        var last = graph.AddNode("MatMul", [input, graph.AddInitializer("residual_tail", tail, t, _outputs)]);
        return graph.AddNode("Concat", [first, spread, last], ("axis", 1L));
    }
}
