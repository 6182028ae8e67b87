using System.Numerics.Tensors;
using MLTransforms.Core.Numerics;

namespace MLTransforms.Embeddings;

/// <summary>
/// The residual MLP adapter y = x A + b + σ(x W1 + c1) W2: its loss and gradient on a batch, and its training by
/// Adam (<see cref="Core.Numerics.Adam"/>) on the pairs themselves. Parameters live in one flat buffer laid out
/// [W1 | W2 | A | c1 | b] (row-major), so weight decay covers the leading W1 and W2 and Adam runs over one span.
/// </summary>
internal sealed class ResidualMlp
{
    public ResidualMlp(int inputSize, int outputSize, int hiddenSize, AdapterActivation activation, AdapterLoss loss,
        double contrastiveWeight, double temperature)
    {
        (InputSize, OutputSize, HiddenSize, Activation, Loss) = (inputSize, outputSize, hiddenSize, activation, loss);
        ContrastiveWeight = (float)contrastiveWeight;
        Temperature = (float)temperature;
    }

    public int InputSize { get; }
    public int OutputSize { get; }
    public int HiddenSize { get; }
    public AdapterActivation Activation { get; }
    public AdapterLoss Loss { get; }
    public float ContrastiveWeight { get; }
    public float Temperature { get; }

    public int W1Offset => 0;
    public int W2Offset => InputSize * HiddenSize;
    public int AOffset => W2Offset + HiddenSize * OutputSize;
    public int C1Offset => AOffset + InputSize * OutputSize;
    public int BOffset => C1Offset + HiddenSize;
    public int Parameters => BOffset + OutputSize;

    /// <summary>The weights that weight decay shrinks: W1 and W2.</summary>
    public int DecayedParameters => AOffset;

    /// <summary>σ(z) elementwise (<paramref name="z"/> and <paramref name="output"/> may be the same span).</summary>
    internal static void Activate(AdapterActivation activation, ReadOnlySpan<float> z, Span<float> output)
    {
        if (activation == AdapterActivation.Relu) TensorPrimitives.Max(z, 0f, output);
        else Gelu.Forward(z, output);
    }

    /// <summary>Predictions of <paramref name="rows"/> inputs (training-time path, on <see cref="Gemm.Multiply"/>);
    /// <paramref name="z"/> receives x W1 + c1 and <paramref name="activated"/> σ(z).</summary>
    public void Predict(ReadOnlySpan<float> p, ReadOnlySpan<float> x, int rows, Span<float> output, Span<float> z, Span<float> activated)
    {
        int dx = InputSize, dy = OutputSize, h = HiddenSize;
        for (int r = 0; r < rows; r++)
        {
            p.Slice(C1Offset, h).CopyTo(z.Slice(r * h, h));
            p.Slice(BOffset, dy).CopyTo(output.Slice(r * dy, dy));
        }
        Gemm.Multiply(false, false, rows, h, dx, 1, x, p.Slice(W1Offset, dx * h), 1, z);
        Activate(Activation, z[..(rows * h)], activated);
        Gemm.Multiply(false, false, rows, dy, dx, 1, x, p.Slice(AOffset, dx * dy), 1, output);
        Gemm.Multiply(false, false, rows, dy, h, 1, activated, p.Slice(W2Offset, h * dy), 1, output);
    }

    /// <summary>Workspace for batches of up to <paramref name="rows"/> pairs.</summary>
    public sealed class Workspace(ResidualMlp net, int rows)
    {
        public readonly float[] Z = new float[rows * net.HiddenSize];
        public readonly float[] G = new float[rows * net.HiddenSize];
        public readonly float[] P = new float[rows * net.OutputSize];
        public readonly float[] DP = new float[rows * net.OutputSize];
        public readonly float[] DG = new float[rows * net.HiddenSize];
        public readonly float[] PHat = new float[rows * net.OutputSize];
        public readonly float[] YHat = new float[rows * net.OutputSize];
        public readonly float[] Norms = new float[rows];
        public readonly float[] S = new float[rows * rows];
        public readonly float[] DPHat = new float[rows * net.OutputSize];
    }

    /// <summary>
    /// Mean loss over the batch (main loss + ContrastiveWeight x InfoNCE) and, when <paramref name="grad"/> is not
    /// empty, its gradient with respect to every parameter (overwritten).
    /// </summary>
    public double LossAndGradient(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y, int rows, Workspace ws, Span<float> grad)
    {
        int dx = InputSize, dy = OutputSize, h = HiddenSize;
        Predict(p, x, rows, ws.P, ws.Z, ws.G);
        var dp = ws.DP.AsSpan(0, rows * dy);
        float inv = 1f / rows;
        double loss = 0;
        for (int r = 0; r < rows; r++)
        {
            var pr = ws.P.AsSpan(r * dy, dy);
            var yr = y.Slice(r * dy, dy);
            var g = dp.Slice(r * dy, dy);
            float pn = MathF.Max(TensorPrimitives.Norm(pr), 1e-12f);
            float yn = MathF.Max(TensorPrimitives.Norm(yr), 1e-12f);
            ws.Norms[r] = pn;
            TensorPrimitives.Divide(pr, pn, ws.PHat.AsSpan(r * dy, dy));
            TensorPrimitives.Divide(yr, yn, ws.YHat.AsSpan(r * dy, dy));
            if (Loss == AdapterLoss.Mse)
            {
                TensorPrimitives.Subtract(pr, yr, g);
                loss += TensorPrimitives.Dot(g, g);
                TensorPrimitives.Multiply(g, 2 * inv, g);
            }
            else
            {
                var ph = ws.PHat.AsSpan(r * dy, dy);
                var yh = ws.YHat.AsSpan(r * dy, dy);
                float c = TensorPrimitives.Dot(ph, yh);
                loss += 1 - c;
                // d(1 - cos)/dp = -(ŷ - cos p̂) / |p|
                TensorPrimitives.MultiplyAdd(ph, -c, yh, g);
                TensorPrimitives.Multiply(g, -inv / pn, g);
            }
        }
        loss *= inv;
        if (ContrastiveWeight > 0)
            loss += ContrastiveWeight * InfoNce(rows, ws, dp);
        if (grad.IsEmpty) return loss;

        // Backward: dA = Xᵀ dP, db = Σ dP, dW2 = Gᵀ dP, dG = dP W2ᵀ, dZ = dG ⊙ σ'(Z), dW1 = Xᵀ dZ, dc1 = Σ dZ.
        Gemm.Multiply(true, false, dx, dy, rows, 1, x, dp, 0, grad.Slice(AOffset, dx * dy));
        Gemm.Multiply(true, false, h, dy, rows, 1, ws.G, dp, 0, grad.Slice(W2Offset, h * dy));
        var dg = ws.DG.AsSpan(0, rows * h);
        Gemm.Multiply(false, true, rows, h, dy, 1, dp, p.Slice(W2Offset, h * dy), 0, dg);
        if (Activation == AdapterActivation.Relu)
            for (int i = 0; i < dg.Length; i++) { if (ws.Z[i] <= 0) dg[i] = 0; }
        else Gelu.Backward(ws.Z.AsSpan(0, dg.Length), dg, default, dg);
        Gemm.Multiply(true, false, dx, h, rows, 1, x, dg, 0, grad.Slice(W1Offset, dx * h));
        var db = grad.Slice(BOffset, dy);
        var dc = grad.Slice(C1Offset, h);
        db.Clear();
        dc.Clear();
        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.Add(db, dp.Slice(r * dy, dy), db);
            TensorPrimitives.Add(dc, dg.Slice(r * h, h), dc);
        }
        return loss;
    }

    /// <summary>In-batch InfoNCE, mean over rows of -log softmax_j(p̂_i · ŷ_j / τ)[i]; adds its gradient (times the
    /// weight) to <paramref name="dp"/>.</summary>
    private double InfoNce(int rows, Workspace ws, Span<float> dp)
    {
        int dy = OutputSize;
        float invT = 1 / Temperature, inv = 1f / rows;
        var s = ws.S.AsSpan(0, rows * rows);
        Gemm.Multiply(false, true, rows, rows, dy, invT, ws.PHat, ws.YHat, 0, s);
        double loss = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = s.Slice(r * rows, rows);
            float max = TensorPrimitives.Max(row);
            double sum = 0;
            for (int j = 0; j < rows; j++) { row[j] = MathF.Exp(row[j] - max); sum += row[j]; }
            loss += Math.Log(sum) - Math.Log(row[r]);
            float scale = (float)(ContrastiveWeight * inv / sum);
            TensorPrimitives.Multiply(row, scale, row);
            row[r] -= ContrastiveWeight * inv;
        }
        // dp̂ = dS ŷ / τ, then through the normalisation: dp = (dp̂ - (dp̂·p̂) p̂) / |p|.
        var dph = ws.DPHat.AsSpan(0, rows * dy);
        Gemm.Multiply(false, false, rows, dy, rows, invT, s, ws.YHat, 0, dph);
        for (int r = 0; r < rows; r++)
        {
            var g = dph.Slice(r * dy, dy);
            var ph = ws.PHat.AsSpan(r * dy, dy);
            float along = TensorPrimitives.Dot(g, ph);
            TensorPrimitives.MultiplyAdd(ph, -along, g, g);
            TensorPrimitives.MultiplyAdd(g, 1 / ws.Norms[r], dp.Slice(r * dy, dy), dp.Slice(r * dy, dy));
        }
        return loss * inv;
    }

    /// <summary>Minimum held-out and training pairs of a fit.</summary>
    internal const int MinPairsPerSide = 8;

    /// <summary>
    /// Trains the adapter on <paramref name="n"/> pairs (row-major x: n x dx, y: n x dy). <paramref name="options"/>
    /// must carry a seed. Logs its choices and every epoch on <paramref name="log"/>; <paramref name="checkAlive"/>
    /// and the options' cancellation token are checked before every batch.
    /// </summary>
    public static EmbeddingAdapterMap Fit(float[] x, float[] y, int n, int dx, int dy, EmbeddingAdapterOptions options,
        Action<FormattableString>? log = null, Action? checkAlive = null)
    {
        int seed = options.Seed ?? throw new InvalidOperationException("Internal: the residual MLP fit needs a resolved seed.");
        int nv = (int)Math.Round(n * options.ValidationFraction), nt = n - nv;
        if (nv < MinPairsPerSide || nt < MinPairsPerSide)
            throw new InvalidOperationException(
                $"Too few pairs for {nameof(EmbeddingAdapterKind.ResidualMlp)}: {n} pairs with ValidationFraction = {options.ValidationFraction:G3} give {nt} training and {nv} held-out pairs; " +
                $"expected at least {MinPairsPerSide} of each. Add pairs, change ValidationFraction, or use a linear kind such as Procrustes.");
        var rng = SplitMix64.For(seed, stream: 0x524D_4C50UL);
        var order = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(order.AsSpan());
        var (xv, yv) = Gather(x, y, dx, dy, order.AsSpan(0, nv));
        var (xt, yt) = Gather(x, y, dx, dy, order.AsSpan(nv));
        var net = new ResidualMlp(dx, dy, options.HiddenSize, options.Activation, options.Loss, options.ContrastiveWeight, options.Temperature);

        // Linear start: the better of Procrustes and ridge (fitted on the training part) on the held-out part.
        var folds = Enumerable.Range(0, options.Folds).Select(_ => new PairedStatistics(dx, dy)).ToArray();
        for (int i = 0; i < nt; i++) folds[i % folds.Length].Add(xt.AsSpan(i * dx, dx), yt.AsSpan(i * dy, dy));
        var p = new float[net.Parameters];
        EmbeddingAdapterMap? start = null;
        double startLoss = double.PositiveInfinity;
        foreach (var kind in new[] { EmbeddingAdapterKind.Procrustes, EmbeddingAdapterKind.Ridge })
        {
            var linear = options.Clone();
            linear.Kind = kind;
            linear.NormalizeOutput = false;
            var map = EmbeddingAdapterFitter.Fit(folds, linear);
            map.Weights.CopyTo(p.AsSpan(net.AOffset));
            map.Bias.CopyTo(p.AsSpan(net.BOffset));
            var (loss, cos) = net.Evaluate(p, xv, yv, nv);
            log?.Invoke($"ResidualMlp linear start {kind}: held-out loss {loss:G5}, cosine {cos:F4}");
            if (loss < startLoss) { start = map; startLoss = loss; }
        }
        start!.Weights.CopyTo(p.AsSpan(net.AOffset));
        start.Bias.CopyTo(p.AsSpan(net.BOffset));
        double startCos = net.Evaluate(p, xv, yv, nv).Cosine;
        log?.Invoke($"ResidualMlp: {nt} training and {nv} held-out pairs, width {options.HiddenSize}, learning rate {options.ResolvedLearningRate:G3}, start {start!.Kind}");

        // W1 ~ N(0, 1 / tr Σxx) so that z has unit spread, c1 = -mean(x) W1 so that z starts centred; W2 = 0 so that
        // training starts at the linear map.
        var all = folds[0].Clone();
        foreach (var f in folds.Skip(1)) all.Merge(f);
        double spread = 0;
        for (int i = 0; i < dx; i++) spread += all.NewNew[i * dx + i];
        float sigma = (float)(1 / Math.Sqrt(Math.Max(spread / all.Count, 1e-12)));
        int h = options.HiddenSize;
        for (int i = 0; i < dx * h; i++) p[net.W1Offset + i] = (float)rng.NextGaussian() * sigma;
        var mean = all.MeanNew;
        for (int j = 0; j < h; j++)
        {
            double c = 0;
            for (int i = 0; i < dx; i++) c -= mean[i] * p[net.W1Offset + i * h + j];
            p[net.C1Offset + j] = (float)c;
        }

        int bs = Math.Min(options.BatchSize, nt);
        var ws = new Workspace(net, bs);
        var grad = new float[net.Parameters];
        var xb = new float[bs * dx];
        var yb = new float[bs * dy];
        var adam = new Adam(net.Parameters);
        var best = (float[])p.Clone();
        double bestLoss = startLoss;
        int bestEpoch = 0, wait = 0, epoch = 0;
        double bestCos = startCos;
        var trainOrder = Enumerable.Range(0, nt).ToArray();
        float lr = (float)options.ResolvedLearningRate, decay = (float)options.WeightDecay;
        for (epoch = 1; epoch <= options.MaxEpochs; epoch++)
        {
            rng.Shuffle(trainOrder.AsSpan());
            double sum = 0;
            // Whole batches only: a short last batch would weigh its pairs more and make InfoNCE easier.
            int batches = nt / bs;
            for (int bi = 0; bi < batches; bi++)
            {
                options.Cancellation.ThrowIfCancellationRequested();
                checkAlive?.Invoke();
                for (int r = 0; r < bs; r++)
                {
                    int i = trainOrder[bi * bs + r];
                    xt.AsSpan(i * dx, dx).CopyTo(xb.AsSpan(r * dx, dx));
                    yt.AsSpan(i * dy, dy).CopyTo(yb.AsSpan(r * dy, dy));
                }
                double loss = net.LossAndGradient(p, xb, yb, bs, ws, grad);
                if (!double.IsFinite(loss))
                    throw new InvalidOperationException(
                        $"ResidualMlp training stopped: the loss became {loss} at epoch {epoch}, batch {bi + 1}. Lower EmbeddingAdapterOptions.LearningRate (now {options.ResolvedLearningRate:G3}).");
                sum += loss;
                if (!options.TrainLinear) grad.AsSpan(net.AOffset, dx * dy).Clear();
                if (!options.TrainLinear) grad.AsSpan(net.BOffset, dy).Clear();
                adam.Step(p, grad, null, lr, null, decay, net.DecayedParameters);
            }
            var (valLoss, valCos) = net.Evaluate(p, xv, yv, nv);
            bool isBest = valLoss < bestLoss;
            if (isBest) { bestLoss = valLoss; bestCos = valCos; bestEpoch = epoch; Array.Copy(p, best, p.Length); wait = 0; }
            else wait++;
            log?.Invoke($"ResidualMlp epoch {epoch}: train loss {sum / batches:G5}, held-out loss {valLoss:G5}, cosine {valCos:F4}{(isBest ? ", best so far" : "")}");
            if (wait >= options.Patience) break;
        }
        int trained = Math.Min(epoch, options.MaxEpochs);
        var hidden = new EmbeddingAdapterMap.HiddenLayer(h, options.Activation,
            best.AsSpan(net.W1Offset, dx * h).ToArray(), best.AsSpan(net.C1Offset, h).ToArray(), best.AsSpan(net.W2Offset, h * dy).ToArray());
        var d = start.Diagnostics with
        {
            Pairs = n, Iterations = trained, Converged = wait >= options.Patience, Seed = seed, BestEpoch = bestEpoch,
            ValidationCosine = bestCos, LinearValidationCosine = startCos, LinearStart = start.Kind,
        };
        return new EmbeddingAdapterMap(EmbeddingAdapterKind.ResidualMlp, dx, dy, best.AsSpan(net.AOffset, dx * dy).ToArray(),
            best.AsSpan(net.BOffset, dy).ToArray(), options.NormalizeOutput, d, hidden);
    }

    /// <summary>Main loss (no InfoNCE) and mean cosine on held-out pairs, in batches of 256.</summary>
    internal (double Loss, double Cosine) Evaluate(float[] p, float[] x, float[] y, int n)
    {
        const int Batch = 256;
        int rows = Math.Min(Batch, n);
        var ws = new Workspace(this, rows);
        var plain = new ResidualMlp(InputSize, OutputSize, HiddenSize, Activation, Loss, 0, Temperature);
        double loss = 0, cos = 0;
        for (int start = 0; start < n; start += Batch)
        {
            int m = Math.Min(Batch, n - start);
            var xs = x.AsSpan(start * InputSize, m * InputSize);
            var ys = y.AsSpan(start * OutputSize, m * OutputSize);
            loss += plain.LossAndGradient(p, xs, ys, m, ws, default) * m;
            for (int r = 0; r < m; r++)
                cos += TensorPrimitives.Dot(ws.PHat.AsSpan(r * OutputSize, OutputSize), ws.YHat.AsSpan(r * OutputSize, OutputSize));
        }
        return (loss / n, cos / n);
    }

    private static (float[] X, float[] Y) Gather(float[] x, float[] y, int dx, int dy, ReadOnlySpan<int> rows)
    {
        var xs = new float[rows.Length * dx];
        var ys = new float[rows.Length * dy];
        for (int r = 0; r < rows.Length; r++)
        {
            x.AsSpan(rows[r] * dx, dx).CopyTo(xs.AsSpan(r * dx, dx));
            y.AsSpan(rows[r] * dy, dy).CopyTo(ys.AsSpan(r * dy, dy));
        }
        return (xs, ys);
    }
}
