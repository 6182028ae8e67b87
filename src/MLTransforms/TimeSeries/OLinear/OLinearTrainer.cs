using System.Diagnostics;
using MLTransforms.Core.Numerics;

namespace MLTransforms.TimeSeries.OLinear;

/// <summary>One finished training epoch of an OLinear forecaster.</summary>
/// <param name="Epoch">Epoch number, from 1.</param>
/// <param name="TrainLoss">Mean training loss (weighted L1, with dropout) over the epoch.</param>
/// <param name="ValidationLoss">Validation loss (weighted L1, no dropout).</param>
/// <param name="LearningRate">Learning rate used in the epoch.</param>
/// <param name="Duration">Wall time of the epoch (training and validation).</param>
/// <param name="IsBest">Whether this epoch lowered the best validation loss so far (by at least
/// <see cref="OLinearOptions.MinImprovement"/>, relative); its weights are kept.</param>
/// <param name="Member">Which network of an ensemble (0 to <see cref="OLinearOptions.EnsembleSize"/> - 1) ran the epoch.</param>
public sealed record OLinearEpoch(int Epoch, double TrainLoss, double ValidationLoss, double LearningRate, TimeSpan Duration, bool IsBest, int Member = 0);

/// <summary>Multivariate windows (T x N inputs, H x N targets, time-major), either over a row range of z-scored
/// channels (stride 1) or from dense arrays of windows.</summary>
internal sealed class WindowSource
{
    private readonly float[][]? _channels;
    private readonly int _rowStart;
    private readonly float[]? _inputs, _targets;

    public WindowSource(float[][] channels, int rowStart, int count, int lookback, int horizon)
    {
        _channels = channels;
        _rowStart = rowStart;
        (Count, Lookback, Horizon, Channels) = (count, lookback, horizon, channels.Length);
    }

    public WindowSource(float[] inputs, float[] targets, int count, int lookback, int horizon, int channels)
    {
        _inputs = inputs;
        _targets = targets;
        (Count, Lookback, Horizon, Channels) = (count, lookback, horizon, channels);
    }

    /// <summary>The windows of one part of a split (all channels of each start row together).</summary>
    public static WindowSource From(WindowSet set) => new(set.Split.Scaled, set.RowStart, set.WindowsPerChannel, set.Lookback, set.Horizon);

    public int Count { get; }
    public int Lookback { get; }
    public int Horizon { get; }
    public int Channels { get; }

    public void FillInput(int window, Span<float> dst)
    {
        if (_inputs != null) _inputs.AsSpan(window * Lookback * Channels, Lookback * Channels).CopyTo(dst);
        else Fill(_rowStart + window, Lookback, dst);
    }

    public void FillTarget(int window, Span<float> dst)
    {
        if (_targets != null) _targets.AsSpan(window * Horizon * Channels, Horizon * Channels).CopyTo(dst);
        else Fill(_rowStart + window + Lookback, Horizon, dst);
    }

    private void Fill(int start, int length, Span<float> dst)
    {
        int n = Channels;
        for (int c = 0; c < n; c++)
        {
            var ch = _channels![c];
            for (int i = 0; i < length; i++) dst[i * n + c] = ch[start + i];
        }
    }

    /// <summary>Channel c's windows as rows (Count x length): what the OrthoTrans bases are fitted on.</summary>
    public float[] ChannelWindows(bool targets)
    {
        int len = targets ? Horizon : Lookback, n = Channels;
        var result = new float[Count * n * len];
        var buf = new float[len * n];
        for (int w = 0; w < Count; w++)
        {
            if (targets) FillTarget(w, buf); else FillInput(w, buf);
            for (int c = 0; c < n; c++)
                for (int i = 0; i < len; i++)
                    result[(c * Count + w) * len + i] = buf[i * n + c];
        }
        return result;
    }
}

/// <summary>
/// Trains an <see cref="OLinearNetwork"/>: Adam (no weight decay), loss mean |y_hat - y| (h + 1)^(-1/2) over batch,
/// step h and channel, learning rate halved every epoch, early stopping on the validation loss with the best
/// weights restored (the authors' ETT recipe), and optionally a learning-rate floor
/// (<see cref="OLinearOptions.MinLearningRate"/>).
/// </summary>
/// <remarks>
/// Each batch is split into <see cref="Shards"/> halves that run forward and backward on their own threads, with
/// OpenBLAS's threads divided among them meanwhile; the gradients are summed in the Adam step. On 2 cores this was
/// 1.13-1.22x faster per epoch (ETTh1, H = 720 and 96) than one pass over the whole batch on a two-threaded BLAS, whose
/// small products scale poorly and which leaves the elementwise layers on one core. Dropout masks are drawn per window
/// (<see cref="DropoutPlan"/>) and the shard count is fixed, so a seed trains the same model whatever the number of cores.
/// </remarks>
/// <param name="network">The network to train (initialised).</param>
/// <param name="options">Hyperparameters.</param>
/// <param name="member">Index of the network in an ensemble: its shuffling and dropout use seed <c>Seed + member</c>.</param>
internal sealed class OLinearTrainer(OLinearNetwork network, OLinearOptions options, int member = 0)
{
    /// <summary>Batch shards per step: fixed, not the core count, so that results do not depend on the machine (the
    /// Adam step adds the two shard gradients).</summary>
    internal const int Shards = 2;

    /// <summary>Step weights (h + 1)^(-1/2).</summary>
    internal static float[] StepWeights(int horizon) => Enumerable.Range(0, horizon).Select(h => 1f / MathF.Sqrt(h + 1)).ToArray();

    /// <summary>Trains; <paramref name="epochDone"/> hears of every epoch, <paramref name="checkAlive"/> (ML.NET's
    /// cancellation of the context) and <paramref name="cancel"/> are checked before every batch.</summary>
    public List<OLinearEpoch> Train(WindowSource train, WindowSource validation, Action<OLinearEpoch>? epochDone = null,
        Action? checkAlive = null, CancellationToken cancel = default)
    {
        var shape = network.Shape;
        int bs = options.BatchSize, shardSize = (bs + Shards - 1) / Shards;
        var rng = new SplitMix64((ulong)(options.Seed!.Value + member) * 0x9E3779B97F4A7C15UL + 12345);
        var p = network.Values;
        var shards = Enumerable.Range(0, Shards).Select(_ => new Shard(shape, shardSize, p.Length)).ToArray();
        var adam = new Adam(p.Length);
        var best = (float[])p.Clone();
        double bestLoss = double.PositiveInfinity;
        var weights = StepWeights(shape.Horizon);
        var order = Enumerable.Range(0, train.Count).ToArray();
        var history = new List<OLinearEpoch>();
        var parallel = Parallelism(cancel);
        using var blas = Gemm.ShareThreads(parallel.MaxDegreeOfParallelism);
        int wait = 0;
        for (int epoch = 1; epoch <= options.MaxEpochs; epoch++)
        {
            var sw = Stopwatch.StartNew();
            double lr = options.LearningRate * Math.Pow(options.LearningRateDecay, epoch - 1);
            if (lr < options.MinLearningRate) break;
            rng.Shuffle(order);
            int used = Math.Min(order.Length, options.MaxTrainingWindows ?? int.MaxValue);
            double lossSum = 0;
            for (int start = 0, batchIndex = 0; start < used; start += bs, batchIndex++)
            {
                cancel.ThrowIfCancellationRequested();
                checkAlive?.Invoke();
                int b = Math.Min(bs, used - start);
                ulong stepSeed = rng.Next();
                Parallel.For(0, Shards, parallel, k =>
                {
                    int first = k * shardSize;
                    shards[k].Step(network, train, Part(order, start, b, first, shardSize), b,
                        new DropoutPlan(options.Dropout, stepSeed, first), weights);
                });
                double loss = 0;
                foreach (var shard in shards) loss += shard.Loss;
                if (!double.IsFinite(loss))
                    throw new InvalidOperationException(
                        $"OLinear training stopped: the loss became {loss} at epoch {epoch}, step {batchIndex + 1} (update {adam.Steps + 1}) " +
                        $"with learning rate {lr:G3}. Lower OLinearOptions.LearningRate (now {options.LearningRate:G3}) or check the data; no model was returned.");
                lossSum += loss * b;
                adam.Step(p, shards[0].Gradient, shards[1].Gradient, (float)lr, parallel);
            }
            double valLoss = Evaluate(validation, weights);
            bool isBest = valLoss < bestLoss * (1 - options.MinImprovement);
            if (isBest) { bestLoss = valLoss; Array.Copy(p, best, p.Length); wait = 0; }
            else wait++;
            var e = new OLinearEpoch(epoch, lossSum / used, valLoss, lr, sw.Elapsed, isBest, member);
            history.Add(e);
            epochDone?.Invoke(e);
            if (!double.IsFinite(valLoss))
                throw new InvalidOperationException(
                    $"OLinear training stopped: the validation loss became {valLoss} after epoch {epoch} (learning rate {lr:G3}). Lower OLinearOptions.LearningRate.");
            if (wait >= options.Patience) break;
        }
        Array.Copy(best, p, p.Length);
        return history;
    }

    /// <summary>The windows of one shard: up to <paramref name="size"/> from offset <paramref name="first"/> of the batch.</summary>
    private static ReadOnlySpan<int> Part(int[] order, int batchStart, int batch, int first, int size)
        => first >= batch ? default : order.AsSpan(batchStart + first, Math.Min(size, batch - first));

    private static ParallelOptions Parallelism(CancellationToken cancel)
        => new() { MaxDegreeOfParallelism = Math.Min(Shards, Environment.ProcessorCount), CancellationToken = cancel };

    /// <summary>
    /// Weighted L1 loss of <paramref name="windows"/> windows as their share of the mean over <paramref name="batch"/>
    /// windows, and its gradient with respect to the forecast (same scale).
    /// </summary>
    internal static double Loss(ReadOnlySpan<float> forecast, ReadOnlySpan<float> target, int windows, int batch, int n, int h, float[] weights, Span<float> grad)
    {
        double sum = 0;
        float scale = 1f / (batch * h * n);
        for (int b = 0; b < windows; b++)
            for (int k = 0; k < h; k++)
            {
                float w = weights[k];
                int o = (b * h + k) * n;
                for (int c = 0; c < n; c++)
                {
                    float e = forecast[o + c] - target[o + c];
                    sum += Math.Abs(e) * w;
                    if (!grad.IsEmpty) grad[o + c] = (e > 0 ? w : e < 0 ? -w : 0) * scale;
                }
            }
        return sum * scale;
    }

    /// <summary>Mean weighted L1 loss without dropout.</summary>
    internal double Evaluate(WindowSource source, float[] weights)
    {
        const int Batch = 128, ShardSize = Batch / Shards;
        var shards = Enumerable.Range(0, Shards).Select(_ => new Shard(network.Shape, ShardSize, 0)).ToArray();
        var parallel = Parallelism(default);
        using var blas = Gemm.ShareThreads(parallel.MaxDegreeOfParallelism);
        var order = Enumerable.Range(0, source.Count).ToArray();
        double sum = 0;
        for (int start = 0; start < source.Count; start += Batch)
        {
            int b = Math.Min(Batch, source.Count - start);
            Parallel.For(0, Shards, parallel, k =>
            {
                shards[k].Score(network, source, Part(order, start, b, k * ShardSize, ShardSize), b, weights);
            });
            foreach (var shard in shards) sum += shard.Loss * b;
        }
        return sum / source.Count;
    }

    /// <summary>One thread's part of a batch: its workspace, window buffers, gradient and loss.</summary>
    private sealed class Shard(OLinearShape shape, int capacity, int parameters)
    {
        private readonly OLinearNetwork.Workspace _ws = new(shape, capacity);
        private readonly float[] _x = new float[capacity * shape.Lookback * shape.Channels];
        private readonly float[] _y = new float[capacity * shape.Horizon * shape.Channels];
        private readonly float[] _dy = new float[capacity * shape.Horizon * shape.Channels];

        public float[] Gradient { get; } = new float[parameters];
        public double Loss { get; private set; }

        /// <summary>Forward and backward over <paramref name="windows"/>, whose loss is a share of the mean over <paramref name="batch"/>.</summary>
        public void Step(OLinearNetwork network, WindowSource source, ReadOnlySpan<int> windows, int batch, DropoutPlan dropout, float[] weights)
        {
            Array.Clear(Gradient);
            Loss = 0;
            if (windows.IsEmpty) return;
            Fill(source, windows);
            network.Forward(_ws, _x, windows.Length, dropout);
            Loss = OLinearTrainer.Loss(_ws.Forecast, _y, windows.Length, batch, shape.Channels, shape.Horizon, weights, _dy);
            network.Backward(_ws, _dy, Gradient);
        }

        /// <summary>Forward only (no dropout): the loss share of <paramref name="windows"/> in a batch of <paramref name="batch"/>.</summary>
        public void Score(OLinearNetwork network, WindowSource source, ReadOnlySpan<int> windows, int batch, float[] weights)
        {
            Loss = 0;
            if (windows.IsEmpty) return;
            Fill(source, windows);
            network.Forward(_ws, _x, windows.Length, DropoutPlan.None);
            Loss = OLinearTrainer.Loss(_ws.Forecast, _y, windows.Length, batch, shape.Channels, shape.Horizon, weights, default);
        }

        private void Fill(WindowSource source, ReadOnlySpan<int> windows)
        {
            int tn = shape.Lookback * shape.Channels, hn = shape.Horizon * shape.Channels;
            for (int i = 0; i < windows.Length; i++)
            {
                source.FillInput(windows[i], _x.AsSpan(i * tn, tn));
                source.FillTarget(windows[i], _y.AsSpan(i * hn, hn));
            }
        }
    }
}
