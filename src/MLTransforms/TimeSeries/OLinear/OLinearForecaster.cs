using System.Diagnostics;
using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;
using MLTransforms.Core.Numerics;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.TimeSeries.OLinear;

/// <summary>Hyperparameters of <see cref="OLinearForecastEstimator"/>; the defaults are the authors' ETTh1 settings.</summary>
public sealed class OLinearOptions
{
    /// <summary>Scalar-embedding size D (default 16).</summary>
    public int Embedding { get; set; } = 16;

    /// <summary>Token width d_model (default 512).</summary>
    public int ModelWidth { get; set; } = 512;

    /// <summary>Width d_ff of the feed-forward layers and of the head (default 512).</summary>
    public int FeedForwardWidth { get; set; } = 512;

    /// <summary>Number of NormLin blocks L (default 2).</summary>
    public int Blocks { get; set; } = 2;

    /// <summary>Dropout rate (default 0.2).</summary>
    public float Dropout { get; set; } = 0.2f;

    /// <summary>Windows per Adam step (default 32).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Initial Adam learning rate (default 5e-4).</summary>
    public double LearningRate { get; set; } = 5e-4;

    /// <summary>Factor applied to the learning rate after every epoch (default 0.5).</summary>
    public double LearningRateDecay { get; set; } = 0.5;

    /// <summary>Maximum number of epochs (default 30).</summary>
    public int MaxEpochs { get; set; } = 30;

    /// <summary>Stop after this many epochs without a lower validation loss (default 8); the best weights are kept.</summary>
    public int Patience { get; set; } = 8;

    /// <summary>
    /// Relative decrease of the validation loss that counts as an improvement for early stopping (default 0, the
    /// authors' rule: any decrease). With the learning rate halved every epoch, late epochs run at 1e-7 and below and
    /// still improve the loss in its sixth digit, each resetting the patience; 1e-4 ends those runs several epochs sooner.
    /// </summary>
    public double MinImprovement { get; set; }

    /// <summary>
    /// Stop before an epoch whose scheduled learning rate would fall below this (default 0: never, the authors' rule).
    /// An Adam step moves each weight by about the learning rate at most, so with the rate halved every epoch all the
    /// remaining epochs together move it by at most two epochs' worth of steps at that rate: too little to change the
    /// model measurably (scikit-learn's MLP stops at 1e-6 for the same reason). 1e-6 caps the ETTh1 recipe at 9 epochs
    /// (7 at H = 720, which starts at 1e-4).
    /// </summary>
    public double MinLearningRate { get; set; }

    /// <summary>Train on at most this many (shuffled) windows per epoch; <see langword="null"/>: all.</summary>
    public int? MaxTrainingWindows { get; set; }

    /// <summary>Seed of the initialisation, the shuffling and the dropout masks (training is deterministic for a seed).
    /// Network k of an ensemble uses <c>Seed + k</c>. Default <see langword="null"/>: drawn from the estimator's host
    /// when it is created, i.e. from the seed of the <see cref="MLContext"/>, as ML.NET's own components do
    /// (<see cref="OLinearForecastEstimator.Seed"/> reports it). An explicit seed always wins.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Number of networks trained, with seeds <see cref="Seed"/>, <see cref="Seed"/> + 1, ..., whose forecasts are
    /// averaged (default 1: one network). Each is trained and early-stopped on its own, so the fit takes this many
    /// times as long, and so does scoring. Averaging independently seeded networks lowers the variance of the forecast
    /// (Lakshminarayanan et al. 2017, "Simple and Scalable Predictive Uncertainty Estimation using Deep Ensembles");
    /// it helps most where one network overfits, e.g. ETTh1 at H = 720.
    /// </summary>
    public int EnsembleSize { get; set; } = 1;

    /// <summary>Normalisation used to fit the OrthoTrans bases Q_T and Q_H on the train split.</summary>
    public OrthoTransNormalization BasisNormalization { get; set; } = OrthoTransNormalization.Symmetric;

    /// <summary>Number of channels N when fitting from a data view (input <c>Vector&lt;Single, T N&gt;</c>).</summary>
    public int? Channels { get; set; }

    /// <summary>Target column (<c>Vector&lt;Single, H N&gt;</c>) when fitting from a data view.</summary>
    public string TargetColumnName { get; set; } = "Target";

    /// <summary>Receives one report per epoch (epoch, train and validation loss, learning rate, time), on the
    /// training thread; the same figures go to <c>MLContext.Log</c>.</summary>
    public IProgress<OLinearEpoch>? Progress { get; set; }

    /// <summary>Cancels training between batches (so does ML.NET's cancellation of the context).</summary>
    public CancellationToken Cancellation { get; set; }

    /// <summary>A copy with <see cref="Seed"/> resolved (drawn from <paramref name="host"/> when null), what the
    /// estimator trains with (later edits of this instance do not change a constructed estimator).</summary>
    internal OLinearOptions Resolved(IHost host)
    {
        var copy = (OLinearOptions)MemberwiseClone();
        copy.Seed ??= host.Rand.Next();
        return copy;
    }

    /// <summary>Checks every option (called when the estimator is created); messages name the option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public void Validate()
    {
        SchemaChecks.CheckOption(Embedding > 0, nameof(Embedding), Embedding, "positive");
        SchemaChecks.CheckOption(ModelWidth > 0, nameof(ModelWidth), ModelWidth, "positive");
        SchemaChecks.CheckOption(FeedForwardWidth > 0, nameof(FeedForwardWidth), FeedForwardWidth, "positive");
        SchemaChecks.CheckOption(Blocks >= 0, nameof(Blocks), Blocks, ">= 0");
        SchemaChecks.CheckOption(Dropout >= 0 && Dropout < 1, nameof(Dropout), Dropout, "in [0, 1)");
        SchemaChecks.CheckOption(BatchSize > 0, nameof(BatchSize), BatchSize, "positive");
        SchemaChecks.CheckOption(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "finite and positive");
        SchemaChecks.CheckOption(LearningRateDecay > 0 && LearningRateDecay <= 1, nameof(LearningRateDecay), LearningRateDecay, "in (0, 1]");
        SchemaChecks.CheckOption(MaxEpochs > 0, nameof(MaxEpochs), MaxEpochs, "positive");
        SchemaChecks.CheckOption(Patience > 0, nameof(Patience), Patience, "positive");
        SchemaChecks.CheckOption(MinImprovement >= 0 && MinImprovement < 1, nameof(MinImprovement), MinImprovement, "in [0, 1)");
        SchemaChecks.CheckOption(MinLearningRate >= 0 && MinLearningRate <= LearningRate, nameof(MinLearningRate), MinLearningRate,
            $"in [0, LearningRate = {LearningRate:G3}]");
        SchemaChecks.CheckOption(MaxTrainingWindows is null or > 0, nameof(MaxTrainingWindows), MaxTrainingWindows, "positive");
        SchemaChecks.CheckOption(Channels is null or > 0, nameof(Channels), Channels, "positive");
        SchemaChecks.CheckOption(EnsembleSize > 0, nameof(EnsembleSize), EnsembleSize, "positive");
    }
}

/// <summary>What training an OLinear forecaster did.</summary>
/// <param name="Epochs">One entry per epoch run, network after network for an ensemble (<see cref="OLinearEpoch.Member"/>).</param>
/// <param name="BestEpochs">Per network, the epoch whose weights were kept (lowest validation loss).</param>
/// <param name="TrainWindows">Multivariate training windows.</param>
/// <param name="ValidationWindows">Multivariate validation windows.</param>
/// <param name="TrainTime">Wall time of the fit.</param>
/// <param name="Blas">The library that ran the matrix products, for logs: the vendor and file of the native BLAS
/// loaded (e.g. <c>OpenBLAS (libopenblas.so.0)</c>, <c>Accelerate (Accelerate)</c>), or <c>managed</c> for the built-in kernel.</param>
public sealed record OLinearFitInfo(IReadOnlyList<OLinearEpoch> Epochs, IReadOnlyList<int> BestEpochs, int TrainWindows, int ValidationWindows, TimeSpan TrainTime, string Blas)
{
    /// <summary>The kept epoch of the first (or only) network.</summary>
    public int BestEpoch => BestEpochs[0];
}

/// <summary>
/// Trains OLinear (Yue et al. 2025, "OLinear: A Linear Model for Time Series Forecasting in Orthogonally Transformed
/// Domain", arXiv 2505.08550) on multivariate windows: RevIN, scalar embedding, OrthoTrans along time (Q_T from the
/// train split) plus a learned offset, Linear(D T -> d_model), L NormLin blocks over the N channel tokens, LayerNorm,
/// Linear(d_model -> D H), inverse OrthoTrans (Q_H) plus an offset, head Linear -> GELU -> Linear, RevIN undone.
/// </summary>
/// <remarks>
/// <para>Input representation: one row per multivariate window. The input column is <c>Vector&lt;Single, T N&gt;</c>
/// holding the T x N window time-major (value of channel c at step i at index i N + c, like the rows of the CSV);
/// the output column is <c>Vector&lt;Single, H N&gt;</c> in the same layout. Values are expected z-scored with train
/// statistics (as <see cref="ForecastSplit"/> does).</para>
/// <para>Matrix products run on <see cref="Gemm"/> (OpenBLAS when installed, else a managed kernel).</para>
/// </remarks>
public sealed class OLinearForecastEstimator : VectorEstimator<OLinearForecaster>
{
    private readonly OLinearOptions _options;

    internal OLinearForecastEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, OLinearOptions? options)
        : base(env, outputColumnName, inputColumnName)
    {
        _options = (options ?? new OLinearOptions()).Resolved(Host);
        _options.Validate();
    }

    /// <summary>Seed of the first network: <see cref="OLinearOptions.Seed"/>, or the one drawn from the context when
    /// the estimator was created.</summary>
    public int Seed => _options.Seed!.Value;

    /// <summary>Trains on a split under the standard protocol: bases and training windows from
    /// <see cref="ForecastSplit.Train"/>, early stopping on <see cref="ForecastSplit.Validation"/>.</summary>
    public OLinearForecaster Fit(ForecastSplit split)
    {
        ArgumentNullException.ThrowIfNull(split);
        var trainRows = split.TrainChannels();
        var pt = OrthoTransBasis.Fit(trainRows, split.Lookback, _options.BasisNormalization);
        var ph = OrthoTransBasis.Fit(trainRows, split.Horizon, _options.BasisNormalization);
        return Train(pt, ph, WindowSource.From(split.Train), WindowSource.From(split.Validation), split.Series.ColumnNames.Count);
    }

    /// <summary>
    /// Trains from data views of multivariate windows: <see cref="VectorEstimator{T}.InputColumnName"/>
    /// (<c>Vector&lt;Single, T N&gt;</c>, time-major) and <see cref="OLinearOptions.TargetColumnName"/>
    /// (<c>Vector&lt;Single, H N&gt;</c>); <see cref="OLinearOptions.Channels"/> gives N. Early stopping on
    /// <paramref name="validation"/>. The bases are fitted on the training windows, all channels pooled.
    /// </summary>
    public OLinearForecaster Fit(IDataView input, IDataView validation)
    {
        ArgumentNullException.ThrowIfNull(validation);
        return FitViews(input, validation);
    }

    /// <summary>Trains from a data view of windows (see <see cref="Fit(IDataView, IDataView)"/>), holding out the last
    /// 10% of the rows (in order, as later time) for early stopping.</summary>
    public override OLinearForecaster Fit(IDataView input) => FitViews(input, null);

    private OLinearForecaster FitViews(IDataView input, IDataView? validation)
    {
        int tn = CheckInput(input);
        int n = _options.Channels ?? throw new ArgumentException(
            $"{nameof(OLinearOptions)}.{nameof(OLinearOptions.Channels)} must be set to fit from a data view: the input column '{InputColumnName}' (Vector<Single, {tn}>) holds T x N values.", nameof(input));
        var (x, rows, _) = VectorColumn.Read(input, InputColumnName);
        var (y, _, hn) = VectorColumn.Read(input, _options.TargetColumnName);
        if (tn % n != 0 || hn % n != 0)
            throw new ArgumentException($"Input has {tn} and target {hn} values per row; both must be multiples of Channels = {n}.", nameof(input));
        int t = tn / n, h = hn / n;
        WindowSource train, val;
        if (validation != null)
        {
            var (vx, vrows, vtn) = VectorColumn.Read(validation, InputColumnName);
            var (vy, _, vhn) = VectorColumn.Read(validation, _options.TargetColumnName);
            if (vtn != tn || vhn != hn)
                throw new ArgumentException($"Validation windows are {vtn} -> {vhn} values; training windows are {tn} -> {hn}.", nameof(validation));
            train = new WindowSource(x, y, rows, t, h, n);
            val = new WindowSource(vx, vy, vrows, t, h, n);
        }
        else
        {
            int held = rows / 10;
            if (held == 0 || rows - held == 0)
                throw new ArgumentException($"Got {rows} windows; need at least 10 to hold out validation windows (or pass validation data).", nameof(input));
            train = new WindowSource(x[..((rows - held) * tn)], y[..((rows - held) * hn)], rows - held, t, h, n);
            val = new WindowSource(x[((rows - held) * tn)..], y[((rows - held) * hn)..], held, t, h, n);
        }
        var pt = OrthoTransBasis.FitWindows(train.ChannelWindows(false), t, default, _options.BasisNormalization);
        var ph = OrthoTransBasis.FitWindows(train.ChannelWindows(true), h, default, _options.BasisNormalization);
        return Train(pt, ph, train, val, n);
    }

    private OLinearForecaster Train(OrthoTransBasis pt, OrthoTransBasis ph, WindowSource train, WindowSource validation, int channels)
    {
        var sw = Stopwatch.StartNew();
        var shape = new OLinearShape(channels, pt.Length, ph.Length, _options.Embedding, _options.ModelWidth, _options.FeedForwardWidth, _options.Blocks);
        var (inputBasis, outputBasis) = (pt.Vectors.ToArray(), ph.Vectors.ToArray());
        var members = new OLinearNetwork[_options.EnsembleSize];
        var history = new List<OLinearEpoch>();
        var best = new int[members.Length];
        using var ch = Host.Start("Fit");
        ch.Info($"OLinear: N={channels} channels, T={pt.Length} -> H={ph.Length}, d_model={shape.ModelWidth}, {shape.Blocks} blocks, {train.Count} train and {validation.Count} validation windows, {members.Length} network(s), seed {Seed}");
        ch.GemmBackend();
        void Epoch(OLinearEpoch e)
        {
            ch.Info($"Network {e.Member} epoch {e.Epoch}: train loss {e.TrainLoss:G5}, validation loss {e.ValidationLoss:G5}, learning rate {e.LearningRate:G3}{(e.IsBest ? ", best so far" : "")} ({e.Duration.TotalSeconds:F2} s)");
            _options.Progress?.Report(e);
        }
        for (int k = 0; k < members.Length; k++)
        {
            members[k] = new OLinearNetwork(shape, inputBasis, outputBasis);
            members[k].Initialise((ulong)(_options.Seed!.Value + k));
            var epochs = new OLinearTrainer(members[k], _options, k).Train(train, validation, Epoch, () => CatalogEnvironment.CheckAlive(Host), _options.Cancellation);
            best[k] = epochs.Where(e => e.IsBest).Select(e => e.Epoch).LastOrDefault();
            history.AddRange(epochs);
            ch.Info($"Network {k}: kept epoch {best[k]} of {epochs.Count} (validation loss {epochs.Where(e => e.IsBest).Select(e => e.ValidationLoss).LastOrDefault(double.NaN):G5})");
        }
        var info = new OLinearFitInfo(history, best, train.Count, validation.Count, sw.Elapsed, Gemm.BackendName);
        return new OLinearForecaster(OutputColumnName, InputColumnName, members, info);
    }
}

/// <summary>
/// A trained OLinear forecaster: maps a multivariate window <c>Vector&lt;Single, T N&gt;</c> (time-major) to its
/// forecast <c>Vector&lt;Single, H N&gt;</c> (time-major). Exports its forward pass to ONNX (<see cref="VectorTransformer.BuildOnnx"/>).
/// </summary>
public sealed class OLinearForecaster : VectorTransformer, IForecaster
{
    private readonly OLinearNetwork[] _members;
    private readonly ThreadLocal<OLinearNetwork.Workspace> _workspace;

    internal OLinearForecaster(string outputColumnName, string inputColumnName, OLinearNetwork[] members, OLinearFitInfo info)
        : base(outputColumnName, inputColumnName, members[0].Shape.Lookback * members[0].Shape.Channels, members[0].Shape.Horizon * members[0].Shape.Channels)
    {
        _members = members;
        FitInfo = info;
        _workspace = new ThreadLocal<OLinearNetwork.Workspace>(() => new OLinearNetwork.Workspace(members[0].Shape, 1));
    }

    /// <summary>Epochs, losses and timing of the fit.</summary>
    public OLinearFitInfo FitInfo { get; }

    /// <summary>Number of channels N.</summary>
    public int Channels => Shape.Channels;

    /// <summary>Lookback T.</summary>
    public int Lookback => Shape.Lookback;

    /// <summary>Horizon H.</summary>
    public int Horizon => Shape.Horizon;

    /// <summary>Number of networks whose forecasts are averaged (<see cref="OLinearOptions.EnsembleSize"/>).</summary>
    public int EnsembleSize => _members.Length;

    private OLinearShape Shape => _members[0].Shape;

    /// <summary>The first (or only) network.</summary>
    internal OLinearNetwork Network => _members[0];

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
    {
        var ws = _workspace.Value!;
        for (int k = 0; k < _members.Length; k++)
        {
            _members[k].Forward(ws, input, 1, DropoutPlan.None);
            Accumulate(ws.Forecast.AsSpan(0, OutputSize), output, k);
        }
    }

    /// <inheritdoc/>
    /// <remarks>Runs the networks on blocks of up to 128 windows (one matrix product per layer and block).</remarks>
    public void Forecast(ReadOnlySpan<float> windows, Span<float> forecasts)
    {
        if (windows.Length % InputSize != 0)
            throw new ArgumentException($"Got {windows.Length} values; expected whole windows of T x N = {Lookback} x {Channels} = {InputSize}.", nameof(windows));
        int count = windows.Length / InputSize;
        if (forecasts.Length != count * OutputSize)
            throw new ArgumentException($"Forecast buffer holds {forecasts.Length} values; {count} windows need {count} x {OutputSize}.", nameof(forecasts));
        for (int w = 0; w < count; w++)
            SchemaChecks.CheckFinite(windows.Slice(w * InputSize, InputSize), InputColumnName, w);
        const int Batch = 128;
        var ws = new OLinearNetwork.Workspace(Shape, Math.Min(Batch, Math.Max(count, 1)));
        for (int start = 0; start < count; start += Batch)
        {
            int b = Math.Min(Batch, count - start);
            for (int k = 0; k < _members.Length; k++)
            {
                _members[k].Forward(ws, windows.Slice(start * InputSize, b * InputSize), b, DropoutPlan.None);
                Accumulate(ws.Forecast.AsSpan(0, b * OutputSize), forecasts.Slice(start * OutputSize, b * OutputSize), k);
            }
        }
    }

    /// <inheritdoc/>
    public float[] Forecast(ReadOnlySpan<float> window)
    {
        if (window.Length != InputSize)
            throw new ArgumentException($"Got {window.Length} values; one window is T x N = {Lookback} x {Channels} = {InputSize}.", nameof(window));
        var result = new float[OutputSize];
        Forecast(window, result);
        return result;
    }

    /// <summary>Running mean over the members: after member k, <paramref name="mean"/> averages members 0..k.</summary>
    private static void Accumulate(ReadOnlySpan<float> forecast, Span<float> mean, int k)
    {
        if (k == 0) forecast.CopyTo(mean);
        else TensorPrimitives.Lerp(mean, forecast, 1f / (k + 1), mean);
    }

    /// <inheritdoc/>
    public ForecastMetrics Evaluate(WindowSet windows) => ForecastEvaluation.Evaluate(windows, this);

    /// <inheritdoc/>
    /// <remarks>The graph computes the same function as the C# forward pass, with the linear chains folded at export:
    /// scalar embedding + OrthoTrans + Linear become uq W_eff (+ a per-channel bias), and Linear(d_model -> D H) +
    /// inverse OrthoTrans + head Linear become one d_model x d_ff MatMul. NormLin's A is computed in the graph
    /// (Softplus, ReduceSum, Div); its value and output projections are folded into one d_model x d_model MatMul.
    /// An ensemble's networks run side by side on the same input and a Mean node averages them.</remarks>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
    {
        var outputs = _members.Select(net => BuildNetwork(graph, input, net)).ToArray();
        return outputs.Length == 1 ? outputs[0] : graph.AddNode("Mean", outputs);
    }

    /// <summary>One network's forward pass; returns its [B, H N] output.</summary>
    private static string BuildNetwork(OnnxGraphBuilder graph, string input, OLinearNetwork net)
    {
        var s = net.Shape;
        var p = net.Values;
        int n = s.Channels, t = s.Lookback, h = s.Horizon, d = s.Embedding, m = s.ModelWidth, f = s.FeedForwardWidth, dh = d * h;
        string Init(string hint, ReadOnlySpan<float> values, params long[] dims) => graph.AddInitializer(hint, values, dims);
        string Node(string op, params string[] inputs) => graph.AddNode(op, inputs);
        string Linear(string x, ParameterSlice w, ParameterSlice b, int inDim, int outDim)
            => Node("Add", Node("MatMul", x, Init(w.Name, w.Of(p), inDim, outDim)), Init(b.Name, b.Of(p), outDim));
        string LayerNorm(string x, ParameterSlice g, ParameterSlice b)
            => graph.AddNode("LayerNormalization", [x, Init(g.Name, g.Of(p), m), Init(b.Name, b.Of(p), m)], ("axis", -1L), ("epsilon", OLinearKernels.LayerNormEpsilon));
        var axis2 = graph.AddInitializer("axis2", [2L], 1);

        // [B, T N] -> [B, N, T]; RevIN.
        var x3 = graph.AddNode("Transpose", [Node("Reshape", input, graph.AddInitializer("shape_btn", [-1L, t, n], 3))], ("perm", new long[] { 0, 2, 1 }));
        var mean = graph.AddNode("ReduceMean", [x3, axis2], ("keepdims", 1L));
        var xc = Node("Sub", x3, mean);
        var var_ = graph.AddNode("ReduceMean", [Node("Mul", xc, xc), axis2], ("keepdims", 1L));
        var sd = Node("Sqrt", Node("Add", var_, Init("revin_eps", [OLinearNetwork.RevInEpsilon], 1)));
        var gamma = Init("revin_gamma", net.Gamma.Of(p), n, 1);
        var beta = Init("revin_beta", net.Beta.Of(p), n, 1);
        var u = Node("Add", Node("Mul", Node("Div", xc, sd), gamma), beta);
        // OrthoTrans + embedding + Linear(D T -> d_model), folded.
        var ptT = new float[t * t];
        Gemm.Transpose(net.InputBasis, t, t, ptT);
        var uq = Node("MatMul", u, Init("q_t", ptT, t, t));
        var (weff, cbias) = FoldInput();
        var x = Node("Add", Node("MatMul", uq, Init("in_w_eff", weff, t, m)), Init("in_bias", cbias, n, m));
        foreach (var blk in net.Blocks)
        {
            // A mixes tokens and the weights mix features, so A (X Wv + 1 bv^T) Wo + bo = A X (Wv Wo) + (bv Wo + bo):
            // rows of A sum to 1.
            var sp = Node("Softplus", Init(blk.Mix.Name, blk.Mix.Of(p), n, n));
            var a = Node("Div", sp, graph.AddNode("ReduceSum", [sp, graph.AddInitializer("axis1", [1L], 1)], ("keepdims", 1L)));
            var wvo = new float[m * m];
            Gemm.Multiply(false, false, m, m, m, 1, blk.ValueW.Of(p), blk.OutW.Of(p), 0, wvo);
            var bvo = blk.OutB.Of(p).ToArray();
            Gemm.Multiply(false, false, 1, m, m, 1, blk.ValueB.Of(p), blk.OutW.Of(p), 1, bvo);
            var o = Node("Add", Node("MatMul", Node("MatMul", a, x), Init("mix_w", wvo, m, m)), Init("mix_b", bvo, m));
            var x1 = LayerNorm(Node("Add", x, o), blk.Norm1G, blk.Norm1B);
            var hid = Node("Gelu", Linear(x1, blk.Ffn1W, blk.Ffn1B, m, f));
            x = LayerNorm(Node("Add", x1, Linear(hid, blk.Ffn2W, blk.Ffn2B, f, m)), blk.Norm2G, blk.Norm2B);
        }
        var xf = LayerNorm(x, net.NormG, net.NormB);
        var (wc, bc) = FoldOutput();
        var g = Node("Gelu", Node("Add", Node("MatMul", xf, Init("out_head_w", wc, m, f)), Init("out_head_b", bc, n, f)));
        var outp = Linear(g, net.Head2W, net.Head2B, f, h);
        // Undo RevIN: (out - beta) / (gamma + eps) sd + mean; [B, N, H] -> [B, H N].
        var ge = net.Gamma.Of(p).ToArray().Select(v => v + OLinearNetwork.DenormEpsilon).ToArray();
        var y = Node("Add", Node("Mul", Node("Sub", outp, beta), Node("Div", sd, Init("revin_gamma_eps", ge, n, 1))), mean);
        var yt = graph.AddNode("Transpose", [y], ("perm", new long[] { 0, 2, 1 }));
        return Node("Reshape", yt, graph.AddInitializer("shape_bhn", [-1L, h * n], 2));

        (float[] Weff, float[] Bias) FoldInput()
        {
            var weff = new float[t * m];
            var sum = new float[t * m];
            var inW = net.InW.Of(p);
            var phi = net.Phi.Of(p);
            for (int k = 0; k < d; k++)
            {
                var wk = inW.Slice(k * t * m, t * m);
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(wk, phi[k], weff, weff);
                System.Numerics.Tensors.TensorPrimitives.Add(wk, sum, sum);
            }
            var bias = new float[n * m];
            Gemm.Multiply(false, false, n, m, t, 1, net.Delta1.Of(p), sum, 0, bias);
            for (int c = 0; c < n; c++)
                System.Numerics.Tensors.TensorPrimitives.Add(bias.AsSpan(c * m, m), net.InB.Of(p), bias.AsSpan(c * m, m));
            return (weff, bias);
        }

        (float[] W, float[] B) FoldOutput()
        {
            // W2 R (R: P_H applied per d block), then times the head's first weight.
            var w2r = new float[m * dh];
            Gemm.Multiply(false, false, m * d, h, h, 1, net.OutW.Of(p), net.OutputBasis, 0, w2r);
            var wc = new float[m * f];
            Gemm.Multiply(false, false, m, f, dh, 1, w2r, net.Head1W.Of(p), 0, wc);
            var zb = new float[n * dh];
            var b2r = new float[dh];
            Gemm.Multiply(false, false, d, h, h, 1, net.OutB.Of(p), net.OutputBasis, 0, b2r);
            var delta2 = net.Delta2.Of(p);
            for (int c = 0; c < n; c++)
                for (int k = 0; k < d; k++)
                    for (int j = 0; j < h; j++)
                        zb[c * dh + k * h + j] = b2r[k * h + j] + delta2[c * h + j];
            var bc = new float[n * f];
            Gemm.Multiply(false, false, n, f, dh, 1, zb, net.Head1W.Of(p), 0, bc);
            for (int c = 0; c < n; c++)
                System.Numerics.Tensors.TensorPrimitives.Add(bc.AsSpan(c * f, f), net.Head1B.Of(p), bc.AsSpan(c * f, f));
            return (wc, bc);
        }
    }
}
