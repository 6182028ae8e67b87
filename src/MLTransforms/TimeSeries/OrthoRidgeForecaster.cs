using System.Diagnostics;
using MathNet.Numerics.LinearAlgebra;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.TimeSeries;

/// <summary>Rarely changed settings of <see cref="OrthoRidgeForecastEstimator"/>.</summary>
public sealed class OrthoRidgeOptions
{
    /// <summary>Per-window normalisation (default: subtract the input window's mean).</summary>
    public WindowNormalization Normalization { get; set; } = WindowNormalization.SubtractMean;

    /// <summary>Candidate ridge penalties, relative to trace(S_zz) / T (the mean input energy of the train windows).</summary>
    public double[] Penalties { get; set; } = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3];

    /// <summary>Candidate penalty shapes alpha: input coefficient j is penalised by lambda (mu_j / mean mu)^-alpha.
    /// 0 is plain ridge.</summary>
    public double[] PenaltyShapes { get; set; } = [0, 1];

    /// <summary>Candidate penalty factors of the level input under <see cref="WindowNormalization.SubtractMeanKeepLevel"/>
    /// (large: the level is removed; small: it is kept).</summary>
    public double[] LevelPenalties { get; set; } = [1e-3, 1, 1e6];

    /// <summary>
    /// Choose penalty and shape per output coefficient and truncate outputs that validate better at zero (default);
    /// false: one shared (penalty, shape) for all outputs, no truncation.
    /// </summary>
    public bool PerCoefficient { get; set; } = true;

    /// <summary>Keep at most this many output coefficients (hard truncation); <see langword="null"/>: H.</summary>
    public int? OutputComponents { get; set; }

    /// <summary>
    /// Precomputed OrthoTrans bases to use instead of fitting them (e.g. shared across horizons, or the authors'
    /// published matrices); a basis whose length is not T (input) or H (output) is ignored.
    /// </summary>
    public IReadOnlyList<OrthoTransBasis>? Bases { get; set; }

    /// <summary>Normalisation used to fit the OrthoTrans bases.</summary>
    public OrthoTransNormalization BasisNormalization { get; set; } = OrthoTransNormalization.Symmetric;

    /// <summary>Name of the target column (<c>Vector&lt;Single, H&gt;</c>) when fitting from a data view.</summary>
    public string TargetColumnName { get; set; } = "Target";

    /// <summary>When fitting from a data view without validation data: every fifth block of 64 rows is held out to
    /// choose penalties (then the model is refitted on all rows). Set false to hold nothing out and use the first
    /// penalty and shape.</summary>
    public bool HoldOutValidation { get; set; } = true;

    /// <summary>Checks every option (called when the estimator is created and when it is fitted); messages name the option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public void Validate()
    {
        SchemaChecks.CheckOption(Enum.IsDefined(Normalization), nameof(Normalization), Normalization, "a defined WindowNormalization");
        SchemaChecks.CheckOption(!string.IsNullOrWhiteSpace(TargetColumnName), nameof(TargetColumnName), TargetColumnName, "a column name");
        SchemaChecks.CheckOption(Penalties is { Length: > 0 } && Penalties.All(p => p >= 0 && double.IsFinite(p)),
            nameof(Penalties), Penalties?.Length, "a non-empty list of finite values >= 0");
        SchemaChecks.CheckOption(PenaltyShapes is { Length: > 0 } && PenaltyShapes.All(double.IsFinite),
            nameof(PenaltyShapes), PenaltyShapes?.Length, "a non-empty list of finite values");
        SchemaChecks.CheckOption(LevelPenalties is { Length: > 0 } && LevelPenalties.All(p => p > 0 && double.IsFinite(p)),
            nameof(LevelPenalties), LevelPenalties?.Length, "a non-empty list of finite values > 0");
        SchemaChecks.CheckOption(OutputComponents is null or > 0, nameof(OutputComponents), OutputComponents, "positive");
    }
}

/// <summary>
/// A closed-form, channel-independent linear forecaster in the OrthoTrans domain (after OLinear, Yue et al. 2025,
/// arXiv 2505.08550): each input window x (length T) is normalised (by default its mean m removed), projected on
/// the input OrthoTrans basis z = P_T (x - m), mapped to decorrelated target coefficients c = B z by ridge
/// regressions whose penalties are chosen per coefficient on validation windows, and brought back:
/// y = P_H^T c + m. The whole map is linear, y = M x, so the fitted <see cref="OrthoRidgeForecaster"/> is one
/// H x T matrix.
/// </summary>
public sealed class OrthoRidgeForecastEstimator : VectorEstimator<OrthoRidgeForecaster>
{
    private readonly OrthoRidgeOptions _options;

    internal OrthoRidgeForecastEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, OrthoRidgeOptions? options)
        : base(env, outputColumnName, inputColumnName)
    {
        _options = options ?? new OrthoRidgeOptions();
        _options.Validate();
    }

    /// <summary>
    /// Fits on the stride-1 windows of a <see cref="ForecastSplit"/> (the fast path): bases from every window of the
    /// train rows of each channel, moments in O(rows (T+H) + (T+H)^2) per channel, penalties chosen on
    /// <see cref="ForecastSplit.Validation"/>. The transformer reads <see cref="VectorEstimator{T}.InputColumnName"/>
    /// (length T) and writes <see cref="VectorEstimator{T}.OutputColumnName"/> (length H).
    /// </summary>
    public OrthoRidgeForecaster Fit(ForecastSplit split)
    {
        ArgumentNullException.ThrowIfNull(split);
        _options.Validate();
        var sw = Stopwatch.StartNew();
        var trainRows = split.TrainChannels();
        var pt = Given(split.Lookback) ?? OrthoTransBasis.Fit(trainRows, split.Lookback, _options.BasisNormalization);
        var ph = Given(split.Horizon) ?? OrthoTransBasis.Fit(trainRows, split.Horizon, _options.BasisNormalization);
        var train = WindowMoments.From(split.Train);
        var val = WindowMoments.From(split.Validation);
        return Logged(Build(pt, ph, train, val, sw));
    }

    /// <summary>
    /// Fits one forecaster per candidate lookback on <paramref name="series"/> and keeps the one with the lowest
    /// validation MSE. Under the standard protocol the validation targets are the same rows for every lookback
    /// (validation starts T rows early), so the comparison is fair.
    /// </summary>
    /// <param name="series">The series.</param>
    /// <param name="horizon">Forecast length H.</param>
    /// <param name="lookbacks">Candidate lookbacks T, e.g. 96, 192, 336, 512, 720.</param>
    /// <param name="protocol">Split protocol.</param>
    /// <param name="progress">Reports each candidate's lookback and validation MSE.</param>
    public LookbackSelection FitSelectingLookback(MultivariateSeries series, int horizon, IReadOnlyList<int> lookbacks,
        SplitProtocol protocol, IProgress<(int Lookback, double ValidationMse)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        SchemaChecks.CheckOption(lookbacks is { Count: > 0 }, nameof(lookbacks), lookbacks?.Count, "a non-empty list");
        var sw = Stopwatch.StartNew();
        var scores = new Dictionary<int, double>();
        (ForecastSplit Split, OrthoRidgeForecaster Model)? best = null;
        foreach (int t in lookbacks!)
        {
            var split = ForecastSplit.Create(series, t, horizon, protocol);
            var model = Fit(split);
            scores[t] = model.FitInfo.ValidationMse;
            progress?.Report((t, scores[t]));
            if (best is null || scores[t] < best.Value.Model.FitInfo.ValidationMse) best = (split, model);
        }
        return new LookbackSelection(best!.Value.Split, best.Value.Model, scores, sw.Elapsed);
    }

    /// <summary>
    /// Fits from data views of windows: <see cref="VectorEstimator{T}.InputColumnName"/> (<c>Vector&lt;Single, T&gt;</c>)
    /// and <see cref="OrthoRidgeOptions.TargetColumnName"/> (<c>Vector&lt;Single, H&gt;</c>). The bases are fitted on
    /// all training windows as one pool; penalties are chosen on <paramref name="validation"/>.
    /// </summary>
    public OrthoRidgeForecaster Fit(IDataView input, IDataView validation)
    {
        ArgumentNullException.ThrowIfNull(validation);
        return FitViews(input, validation);
    }

    /// <summary>
    /// Fits from a data view of windows (see <see cref="Fit(IDataView, IDataView)"/>); without separate validation
    /// data, every fifth block of 64 rows chooses the penalties (<see cref="OrthoRidgeOptions.HoldOutValidation"/>),
    /// then the model is refitted on all rows with those penalties.
    /// </summary>
    public override OrthoRidgeForecaster Fit(IDataView input) => FitViews(input, null);

    private OrthoRidgeForecaster FitViews(IDataView input, IDataView? validation)
    {
        _options.Validate();
        var sw = Stopwatch.StartNew();
        int t = CheckInput(input);
        var (x, rows, _) = VectorColumn.Read(input, InputColumnName);
        var (y, yrows, h) = VectorColumn.Read(input, _options.TargetColumnName);
        Debug.Assert(rows == yrows);
        var pt = Given(t) ?? OrthoTransBasis.FitWindows(x, t, default, _options.BasisNormalization);
        var ph = Given(h) ?? OrthoTransBasis.FitWindows(y, h, default, _options.BasisNormalization);
        if (validation != null)
        {
            var (vx, vrows, vt) = VectorColumn.Read(validation, InputColumnName);
            var (vy, _, vh) = VectorColumn.Read(validation, _options.TargetColumnName);
            if (vt != t || vh != h)
                throw new ArgumentOutOfRangeException(nameof(validation), $"Validation windows are {vt} -> {vh}; training windows are {t} -> {h}.");
            return Logged(Build(pt, ph, Moments(x, y, rows, t, h, _ => true), Moments(vx, vy, vrows, t, h, _ => true), sw));
        }
        if (!_options.HoldOutValidation || rows < 10 * 64)
            return Logged(Build(pt, ph, Moments(x, y, rows, t, h, _ => true), null, sw));
        static bool Held(int r) => r / 64 % 5 == 4;
        var chosen = Build(pt, ph, Moments(x, y, rows, t, h, r => !Held(r)), Moments(x, y, rows, t, h, Held), sw);
        var all = Moments(x, y, rows, t, h, _ => true);
        return Logged(chosen.Refit(all, sw));
    }

    /// <summary>Logs what the fit chose: kept outputs, penalty range and shapes, validation score.</summary>
    private OrthoRidgeForecaster Logged(OrthoRidgeForecaster model)
    {
        var info = model.FitInfo;
        var kept = Enumerable.Range(0, info.Penalties.Count).Where(i => double.IsFinite(info.Penalties[i])).ToArray();
        using var ch = Host.Start("Fit");
        string penalties = kept.Length == 0 ? "none"
            : FormattableString.Invariant($"{kept.Min(i => info.Penalties[i]):G3} to {kept.Max(i => info.Penalties[i]):G3}, shapes {string.Join(",", kept.Select(i => info.Shapes[i]).Distinct().Order())}");
        ch.Info($"OrthoRidge T={model.Lookback} -> H={model.Horizon}: {info.OutputComponents} of {model.Horizon} output coefficients kept; penalties {penalties}; validation MSE {info.ValidationMse:G5} on {info.ValidationWindows} windows ({info.TrainWindows} train windows, {info.TrainTime.TotalSeconds:F2} s)");
        return model;
    }

    private OrthoTransBasis? Given(int length) => _options.Bases?.FirstOrDefault(b => b.Length == length);

    private static WindowMoments Moments(float[] x, float[] y, int rows, int t, int h, Func<int, bool> take)
    {
        var m = new WindowMoments(t, h);
        const int block = 256;
        var buf = new double[block * (t + h)];
        int n = 0;
        for (int r = 0; r < rows; r++)
        {
            if (!take(r)) continue;
            var dst = buf.AsSpan(n * (t + h), t + h);
            for (int i = 0; i < t; i++) dst[i] = x[r * t + i];
            for (int i = 0; i < h; i++) dst[t + i] = y[r * h + i];
            if (++n == block) { m.AddBlock(buf, n); n = 0; }
        }
        m.AddBlock(buf, n);
        return m;
    }

    private OrthoRidgeForecaster Build(OrthoTransBasis pt, OrthoTransBasis ph, WindowMoments train, WindowMoments? val, Stopwatch sw)
    {
        int maxOut = Math.Min(_options.OutputComponents ?? ph.Length, ph.Length);
        var rotation = InputRotation(pt);
        var (weights, shapes, levels) = WeightSets(pt);
        var result = OrthoRidgeSolver.Solve(train.Normalised(_options.Normalization), val?.Normalised(_options.Normalization),
            val?.Count ?? 0, rotation, ph, _options.Penalties, weights, !_options.PerCoefficient, maxOut);
        var info = new OrthoRidgeFitInfo(result.Penalty,
            result.WeightSet.Select(w => w < 0 ? double.NaN : shapes[w]).ToArray(),
            result.WeightSet.Select(w => w < 0 ? double.NaN : levels[w]).ToArray(),
            result.WeightSet.Count(w => w >= 0), result.ValidationMse, train.Count, val?.Count ?? 0, sw.Elapsed);
        return new OrthoRidgeForecaster(OutputColumnName, InputColumnName, pt, ph, result.Coefficients, _options.Normalization, info,
            this, result.Scale, result.WeightSet);
    }

    /// <summary>R: P_T, with a 1 appended for the level feature.</summary>
    private Matrix<double> InputRotation(OrthoTransBasis pt)
    {
        int t = pt.Length, d = WindowMoments.InputFeatures(t, _options.Normalization);
        var r = Matrix<double>.Build.Dense(d, d);
        r.SetSubMatrix(0, 0, OrthoRidgeSolver.Rows(pt));
        if (d > t) r[t, t] = 1;
        return r;
    }

    /// <summary>Penalty weights per input coordinate: (mu_j / mean mu)^-alpha for each shape, times each level factor
    /// on the level coordinate.</summary>
    private (List<Vector<double>> Weights, List<double> Shapes, List<double> Levels) WeightSets(OrthoTransBasis pt)
    {
        int t = pt.Length;
        bool level = _options.Normalization == WindowNormalization.SubtractMeanKeepLevel;
        double meanMu = pt.Eigenvalues.Average(v => Math.Max(v, 0));
        double floor = 1e-6 * Math.Max(pt.Eigenvalues[0], 1e-12);
        var weights = new List<Vector<double>>();
        var shapes = new List<double>();
        var levels = new List<double>();
        foreach (double alpha in _options.PenaltyShapes)
            foreach (double f in level ? _options.LevelPenalties : [double.NaN])
            {
                var w = Vector<double>.Build.Dense(t + (level ? 1 : 0), j => j < t ? Math.Pow(Math.Max(pt.Eigenvalues[j], floor) / meanMu, -alpha) : f);
                weights.Add(w);
                shapes.Add(alpha);
                levels.Add(f);
            }
        return (weights, shapes, levels);
    }

    internal OrthoRidgeForecaster Refit(OrthoRidgeForecaster chosen, WindowMoments all, Stopwatch sw)
    {
        // Same per-coefficient choice of weights and relative penalty, solved on all rows.
        var pt = chosen.InputBasis;
        var g = all.Normalised(_options.Normalization);
        var rotation = InputRotation(pt);
        int d = rotation.RowCount;
        double scale = (rotation * g.SubMatrix(0, d, 0, d) * rotation.Transpose()).Trace() / d;
        var penalty = chosen.FitInfo.Penalties.Select(p => p * scale / chosen.PenaltyScale).ToArray();
        var coef = OrthoRidgeSolver.SolveFixed(g, rotation, chosen.OutputBasis, WeightSets(pt).Weights, chosen.WeightSet, penalty);
        return new OrthoRidgeForecaster(OutputColumnName, InputColumnName, pt, chosen.OutputBasis, coef, _options.Normalization,
            chosen.FitInfo with { Penalties = penalty, TrainWindows = all.Count, TrainTime = sw.Elapsed }, this, scale, chosen.WeightSet);
    }
}

/// <summary>The result of <see cref="OrthoRidgeForecastEstimator.FitSelectingLookback"/>.</summary>
/// <param name="Split">The split at the chosen lookback.</param>
/// <param name="Forecaster">The forecaster at the chosen lookback.</param>
/// <param name="ValidationMse">Validation MSE of every candidate lookback.</param>
/// <param name="TrainTime">Wall time of all the fits.</param>
public sealed record LookbackSelection(ForecastSplit Split, OrthoRidgeForecaster Forecaster, IReadOnlyDictionary<int, double> ValidationMse, TimeSpan TrainTime);

/// <summary>What <see cref="OrthoRidgeForecastEstimator"/> chose.</summary>
/// <param name="Penalties">Absolute ridge penalty per output coefficient (infinity: truncated).</param>
/// <param name="Shapes">Penalty shape alpha per output coefficient (NaN: truncated).</param>
/// <param name="LevelPenalties">Level penalty factor per output coefficient (NaN: truncated or no level feature).</param>
/// <param name="OutputComponents">Output coefficients kept.</param>
/// <param name="ValidationMse">Validation MSE (normalised scale) of the chosen model, NaN without validation.</param>
/// <param name="TrainWindows">Windows the model was fitted on.</param>
/// <param name="ValidationWindows">Windows the penalties were chosen on.</param>
/// <param name="TrainTime">Wall time of the fit.</param>
public sealed record OrthoRidgeFitInfo(IReadOnlyList<double> Penalties, IReadOnlyList<double> Shapes, IReadOnlyList<double> LevelPenalties, int OutputComponents,
    double ValidationMse, long TrainWindows, long ValidationWindows, TimeSpan TrainTime);

/// <summary>
/// A fitted <see cref="OrthoRidgeForecastEstimator"/>: maps an input window <c>Vector&lt;Single, T&gt;</c> to a
/// forecast <c>Vector&lt;Single, H&gt;</c>, y = M x with M = P_H^T B P_T (I - 1 1^T / T) + 1 1^T / T under
/// mean removal (the mean handling folded into the matrix). ONNX: one MatMul.
/// </summary>
public sealed class OrthoRidgeForecaster : VectorTransformer, IForecaster
{
    private readonly float[] _weights; // H x T row-major
    private readonly OrthoRidgeForecastEstimator? _estimator;

    internal OrthoRidgeForecaster(string outputColumnName, string inputColumnName, OrthoTransBasis inputBasis, OrthoTransBasis outputBasis,
        Matrix<double> coefficients, WindowNormalization normalization, OrthoRidgeFitInfo info, OrthoRidgeForecastEstimator? estimator,
        double penaltyScale, int[] weightSet)
        : base(outputColumnName, inputColumnName, inputBasis.Length, outputBasis.Length)
    {
        InputBasis = inputBasis;
        OutputBasis = outputBasis;
        Normalization = normalization;
        FitInfo = info;
        _estimator = estimator;
        PenaltyScale = penaltyScale;
        WeightSet = weightSet;
        int t = inputBasis.Length, h = outputBasis.Length;
        // coefficients: D x H. Forecast y' = P_H^T B^T [P_T x'; m].
        var pht = OrthoRidgeSolver.Rows(outputBasis).Transpose();
        var m = pht * coefficients.SubMatrix(0, t, 0, h).Transpose() * OrthoRidgeSolver.Rows(inputBasis);
        if (normalization != WindowNormalization.None)
        {
            // x' = x - 1 a^T x, m = a^T x with a = 1 / T: y = M (I - 1 a^T) x + (P_H^T b + 1) a^T x.
            var level = normalization == WindowNormalization.SubtractMeanKeepLevel ? pht * coefficients.Row(t) : Vector<double>.Build.Dense(h);
            for (int i = 0; i < h; i++)
            {
                double r = 1 - m.Row(i).Sum() + level[i];
                for (int j = 0; j < t; j++) m[i, j] += r / t;
            }
        }
        _weights = new float[h * t];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < t; j++)
                _weights[i * t + j] = (float)m[i, j];
    }

    /// <summary>The input basis P_T (length T).</summary>
    public OrthoTransBasis InputBasis { get; }

    /// <summary>The output basis P_H (length H).</summary>
    public OrthoTransBasis OutputBasis { get; }

    /// <summary>The per-window normalisation.</summary>
    public WindowNormalization Normalization { get; }

    /// <summary>What the fit chose (penalties, truncation, validation MSE, time).</summary>
    public OrthoRidgeFitInfo FitInfo { get; }

    /// <summary>Lookback T.</summary>
    public int Lookback => InputSize;

    /// <summary>Horizon H.</summary>
    public int Horizon => OutputSize;

    /// <summary>The end-to-end forecast matrix M (H x T, row-major): forecast = M x.</summary>
    public ReadOnlySpan<float> Weights => _weights;

    /// <summary>Chosen penalty-weight set per output coefficient (-1: truncated).</summary>
    internal int[] WeightSet { get; }

    /// <summary>trace(S_zz) / T of the fit, the unit of the relative penalties.</summary>
    internal double PenaltyScale { get; }

    internal OrthoRidgeForecaster Refit(WindowMoments all, Stopwatch sw) => _estimator!.Refit(this, all, sw);

    /// <summary>Channels per window: 1 (channel-independent; each channel's windows are forecast alike).</summary>
    public int Channels => 1;

    /// <inheritdoc/>
    public void Forecast(ReadOnlySpan<float> windows, Span<float> forecasts) => Transform(windows, forecasts);

    /// <inheritdoc/>
    public float[] Forecast(ReadOnlySpan<float> window) => Transform(window);

    /// <inheritdoc/>
    public ForecastMetrics Evaluate(WindowSet windows) => ForecastEvaluation.Evaluate(windows, this);

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
    {
        int t = InputSize;
        for (int i = 0; i < output.Length; i++)
            output[i] = System.Numerics.Tensors.TensorPrimitives.Dot(_weights.AsSpan(i * t, t), input);
    }

    /// <inheritdoc/>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
    {
        int t = InputSize, h = OutputSize;
        var mt = new float[t * h];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < t; j++)
                mt[j * h + i] = _weights[i * t + j];
        return graph.AddNode("MatMul", [input, graph.AddInitializer("forecast_m", mt, t, h)]);
    }
}
