using System.Numerics.Tensors;
using static MLTransforms.TimeSeries.OLinear.OLinearKernels;
using MLTransforms.Core.Numerics;

namespace MLTransforms.TimeSeries.OLinear;

/// <summary>Sizes of an OLinear network: N channels, lookback T, horizon H, embedding D, model width, FFN width, blocks.</summary>
internal sealed record OLinearShape(int Channels, int Lookback, int Horizon, int Embedding, int ModelWidth, int FeedForwardWidth, int Blocks);

/// <summary>A named slice of the flat parameter (or gradient) buffer.</summary>
internal readonly record struct ParameterSlice(string Name, int Offset, int Length)
{
    public Span<float> Of(float[] buffer) => buffer.AsSpan(Offset, Length);
}

/// <summary>The parameters of one NormLin block.</summary>
internal sealed record NormLinBlock(ParameterSlice Mix, ParameterSlice ValueW, ParameterSlice ValueB, ParameterSlice OutW, ParameterSlice OutB,
    ParameterSlice Norm1G, ParameterSlice Norm1B, ParameterSlice Ffn1W, ParameterSlice Ffn1B, ParameterSlice Ffn2W, ParameterSlice Ffn2B,
    ParameterSlice Norm2G, ParameterSlice Norm2B);

/// <summary>
/// The OLinear network (Yue et al. 2025, arXiv 2505.08550; layer by layer as in the authors' code): forward pass,
/// backward pass, parameter layout. All parameters live in one flat buffer so that Adam runs over one span.
/// Linear weights are stored input-major ([in, out]) so the forward products need no transpose.
/// </summary>
/// <remarks>
/// Rows of every activation are the channel tokens of the batch, r = b N + n. The scalar embedding and the input
/// OrthoTrans are linear, so flatten + Linear(D T -> d_model) is computed exactly as uq W_eff + delta1 S + b with
/// uq = u P_T^T, W_eff = sum_d phi_d W_d and S = sum_d W_d (W_d the T rows of block d): D times fewer operations
/// than materialising the D x T embedding, same function and same gradients.
/// </remarks>
internal sealed class OLinearNetwork
{
    internal const float RevInEpsilon = 1e-5f;
    internal const float DenormEpsilon = 1e-10f;

    private readonly List<ParameterSlice> _slices = [];

    public OLinearNetwork(OLinearShape shape, float[] inputBasis, float[] outputBasis)
    {
        Shape = shape;
        InputBasis = inputBasis;
        OutputBasis = outputBasis;
        int n = shape.Channels, t = shape.Lookback, h = shape.Horizon, d = shape.Embedding, m = shape.ModelWidth, f = shape.FeedForwardWidth;
        Gamma = Add("revin.gamma", n); Beta = Add("revin.beta", n);
        Phi = Add("embedding.phi", d);
        Delta1 = Add("delta1", n * t); Delta2 = Add("delta2", n * h);
        InW = Add("in.w", d * t * m); InB = Add("in.b", m);
        Blocks = new NormLinBlock[shape.Blocks];
        for (int l = 0; l < shape.Blocks; l++)
            Blocks[l] = new NormLinBlock(Add($"block{l}.mix", n * n), Add($"block{l}.v.w", m * m), Add($"block{l}.v.b", m),
                Add($"block{l}.out.w", m * m), Add($"block{l}.out.b", m), Add($"block{l}.norm1.g", m), Add($"block{l}.norm1.b", m),
                Add($"block{l}.ffn1.w", m * f), Add($"block{l}.ffn1.b", f), Add($"block{l}.ffn2.w", f * m), Add($"block{l}.ffn2.b", m),
                Add($"block{l}.norm2.g", m), Add($"block{l}.norm2.b", m));
        NormG = Add("norm.g", m); NormB = Add("norm.b", m);
        OutW = Add("out.w", m * d * h); OutB = Add("out.b", d * h);
        Head1W = Add("head1.w", d * h * f); Head1B = Add("head1.b", f);
        Head2W = Add("head2.w", f * h); Head2B = Add("head2.b", h);
        Values = new float[_slices.Sum(s => s.Length)];
    }

    private ParameterSlice Add(string name, int length)
    {
        int offset = _slices.Count == 0 ? 0 : _slices[^1].Offset + _slices[^1].Length;
        var s = new ParameterSlice(name, offset, length);
        _slices.Add(s);
        return s;
    }

    public OLinearShape Shape { get; }

    /// <summary>P_T (T x T, rows are the input OrthoTrans eigenvectors).</summary>
    public float[] InputBasis { get; }

    /// <summary>P_H (H x H, rows are the output OrthoTrans eigenvectors).</summary>
    public float[] OutputBasis { get; }

    /// <summary>All parameters.</summary>
    public float[] Values { get; }

    public IReadOnlyList<ParameterSlice> Slices => _slices;

    public ParameterSlice Gamma { get; }
    public ParameterSlice Beta { get; }
    public ParameterSlice Phi { get; }
    public ParameterSlice Delta1 { get; }
    public ParameterSlice Delta2 { get; }
    public ParameterSlice InW { get; }
    public ParameterSlice InB { get; }
    public NormLinBlock[] Blocks { get; }
    public ParameterSlice NormG { get; }
    public ParameterSlice NormB { get; }

    /// <summary>Linear(d_model -> D H), output index d H + h (reshaped to D x H before the inverse OrthoTrans).</summary>
    public ParameterSlice OutW { get; }
    public ParameterSlice OutB { get; }

    /// <summary>Head Linear(H D -> d_ff); its input rows are stored in the order d H + h (a fixed permutation of the
    /// authors' h D + d order, so no transpose is needed).</summary>
    public ParameterSlice Head1W { get; }
    public ParameterSlice Head1B { get; }
    public ParameterSlice Head2W { get; }
    public ParameterSlice Head2B { get; }

    /// <summary>PyTorch's initialisation: Linear weights and biases U(-1/sqrt(in), 1/sqrt(in)), LayerNorm (1, 0),
    /// RevIN (1, 0), phi ~ N(0, 1), NormLin W = I + N(0, 1), delta1 = delta2 = 0.</summary>
    public void Initialise(ulong seed)
    {
        var rng = new SplitMix64(seed);
        var p = Values;
        var s = Shape;
        int n = s.Channels, d = s.Embedding, t = s.Lookback, h = s.Horizon, m = s.ModelWidth, f = s.FeedForwardWidth;
        Array.Clear(p);
        Gamma.Of(p).Fill(1);
        foreach (ref var v in Phi.Of(p)) v = (float)rng.NextGaussian();
        Uniform(InW, d * t); Uniform(InB, d * t);
        foreach (var b in Blocks)
        {
            var mix = b.Mix.Of(p);
            for (int i = 0; i < n * n; i++) mix[i] = (float)rng.NextGaussian() + (i / n == i % n ? 1 : 0);
            Uniform(b.ValueW, m); Uniform(b.ValueB, m); Uniform(b.OutW, m); Uniform(b.OutB, m);
            b.Norm1G.Of(p).Fill(1); b.Norm2G.Of(p).Fill(1);
            Uniform(b.Ffn1W, m); Uniform(b.Ffn1B, m); Uniform(b.Ffn2W, f); Uniform(b.Ffn2B, f);
        }
        NormG.Of(p).Fill(1);
        Uniform(OutW, m); Uniform(OutB, m);
        Uniform(Head1W, d * h); Uniform(Head1B, d * h);
        Uniform(Head2W, f); Uniform(Head2B, f);

        void Uniform(ParameterSlice slice, int fanIn)
        {
            float bound = 1f / MathF.Sqrt(fanIn);
            foreach (ref var v in slice.Of(p)) v = (2 * rng.NextSingle() - 1) * bound;
        }
    }

    /// <summary>
    /// Forward pass for <paramref name="batch"/> windows. <paramref name="x"/> holds batch x T x N values (time-major
    /// windows); the forecast (batch x H x N) is written to <see cref="Workspace.Forecast"/>. An active
    /// <paramref name="dropout"/> plan draws the training masks; <see cref="DropoutPlan.None"/> is inference.
    /// </summary>
    public void Forward(Workspace ws, ReadOnlySpan<float> x, int batch, DropoutPlan dropout)
    {
        var s = Shape;
        int n = s.Channels, t = s.Lookback, h = s.Horizon, d = s.Embedding, m = s.ModelWidth, f = s.FeedForwardWidth;
        int rows = batch * n;
        ws.Ensure(batch);
        ws.Batch = batch;
        var p = Values;
        bool train = dropout.Active;
        ws.Training = train;
        int site = 0;
        var gamma = Gamma.Of(p); var beta = Beta.Of(p);

        // RevIN: per token statistics over T (no gradient through them, as in the authors' RevIN).
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < n; c++)
            {
                int r = b * n + c;
                var xn = ws.Normalised.AsSpan(r * t, t);
                for (int i = 0; i < t; i++) xn[i] = x[(b * t + i) * n + c];
                float mean = TensorPrimitives.Sum(xn) / t;
                TensorPrimitives.Subtract(xn, mean, xn);
                float sd = MathF.Sqrt(TensorPrimitives.SumOfSquares(xn) / t + RevInEpsilon);
                TensorPrimitives.Multiply(xn, 1f / sd, xn);
                ws.Mean[r] = mean;
                ws.Std[r] = sd;
                var u = ws.Scratch.AsSpan(r * t, t);
                for (int i = 0; i < t; i++) u[i] = xn[i] * gamma[c] + beta[c];
            }
        // uq = u P_T^T.
        Gemm.Multiply(false, true, rows, t, t, 1, ws.Scratch, InputBasis, 0, ws.Coefficients);
        // X0 = uq W_eff + delta1 S + b.
        var inW = InW.Of(p);
        var phi = Phi.Of(p);
        var weff = ws.EffectiveIn.AsSpan(0, t * m);
        var sumW = ws.SummedIn.AsSpan(0, t * m);
        weff.Clear(); sumW.Clear();
        for (int k = 0; k < d; k++)
        {
            var wk = inW.Slice(k * t * m, t * m);
            TensorPrimitives.MultiplyAdd(wk, phi[k], weff, weff);
            TensorPrimitives.Add(wk, sumW, sumW);
        }
        var channelBias = ws.ChannelBias.AsSpan(0, n * m);
        Gemm.Multiply(false, false, n, m, t, 1, Delta1.Of(p), sumW, 0, channelBias);
        for (int c = 0; c < n; c++) TensorPrimitives.Add(channelBias.Slice(c * m, m), InB.Of(p), channelBias.Slice(c * m, m));
        var x0 = ws.BlockInput[0].AsSpan(0, rows * m);
        Gemm.Multiply(false, false, rows, m, t, 1, ws.Coefficients, weff, 0, x0);
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(x0.Slice(r * m, m), channelBias.Slice(r % n * m, m), x0.Slice(r * m, m));

        for (int l = 0; l < s.Blocks; l++)
        {
            var blk = Blocks[l];
            var bw = ws.Blocks[l];
            var xin = ws.BlockInput[l].AsSpan(0, rows * m);
            // V = X Wv + bv; A = L1-normalise(softplus(W)) with dropout; Mix_b = A V_b.
            var v = bw.Value.AsSpan(0, rows * m);
            Gemm.Multiply(false, false, rows, m, m, 1, xin, blk.ValueW.Of(p), 0, v);
            AddBias(v, rows, blk.ValueB.Of(p));
            NormLinWeights(blk.Mix.Of(p), n, bw.A);
            bw.MixWeights.AsSpan().Fill(1);
            if (train) dropout.FillShared(bw.MixWeights, site++);
            var ad = bw.DroppedA;
            TensorPrimitives.Multiply(bw.A, bw.MixWeights, ad);
            var mixed = bw.Mixed.AsSpan(0, rows * m);
            mixed.Clear();
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < n; i++)
                {
                    var dst = mixed.Slice((b * n + i) * m, m);
                    for (int j = 0; j < n; j++)
                        TensorPrimitives.MultiplyAdd(v.Slice((b * n + j) * m, m), ad[i * n + j], dst, dst);
                }
            // X1 = LN(X + Dropout(Mix Wo + bo)).
            var o = bw.Sum1.AsSpan(0, rows * m);
            Gemm.Multiply(false, false, rows, m, m, 1, mixed, blk.OutW.Of(p), 0, o);
            AddBias(o, rows, blk.OutB.Of(p));
            if (train) dropout.Apply(o, bw.MaskOut, site++, n * m);
            TensorPrimitives.Add(o, xin, o);
            var x1 = bw.X1.AsSpan(0, rows * m);
            LayerNorm(o, rows, m, blk.Norm1G.Of(p), blk.Norm1B.Of(p), x1, bw.Hat1, bw.Rstd1);
            // X2 = LN(X1 + Dropout(Dropout(GELU(X1 W1 + b1)) W2 + b2)).
            var hpre = bw.HiddenPre.AsSpan(0, rows * f);
            Gemm.Multiply(false, false, rows, f, m, 1, x1, blk.Ffn1W.Of(p), 0, hpre);
            AddBias(hpre, rows, blk.Ffn1B.Of(p));
            var hid = bw.Hidden.AsSpan(0, rows * f);
            Gelu.Forward(hpre, hid);
            if (train) dropout.Apply(hid, bw.MaskHidden, site++, n * f);
            var y = bw.Sum2.AsSpan(0, rows * m);
            Gemm.Multiply(false, false, rows, m, f, 1, hid, blk.Ffn2W.Of(p), 0, y);
            AddBias(y, rows, blk.Ffn2B.Of(p));
            if (train) dropout.Apply(y, bw.MaskFfn, site++, n * m);
            TensorPrimitives.Add(y, x1, y);
            LayerNorm(y, rows, m, blk.Norm2G.Of(p), blk.Norm2B.Of(p), ws.BlockInput[l + 1], bw.Hat2, bw.Rstd2);
        }
        var xl = ws.BlockInput[s.Blocks].AsSpan(0, rows * m);
        var xf = ws.Final.AsSpan(0, rows * m);
        LayerNorm(xl, rows, m, NormG.Of(p), NormB.Of(p), xf, ws.FinalHat, ws.FinalRstd);
        // Linear(d_model -> D H), inverse OrthoTrans per (token, d): Z = Yd P_H + delta2.
        int dh = d * h;
        var yd = ws.OutCoefficients.AsSpan(0, rows * dh);
        Gemm.Multiply(false, false, rows, dh, m, 1, xf, OutW.Of(p), 0, yd);
        AddBias(yd, rows, OutB.Of(p));
        var z = ws.OutSeries.AsSpan(0, rows * dh);
        Gemm.Multiply(false, false, rows * d, h, h, 1, yd, OutputBasis, 0, z);
        var delta2 = Delta2.Of(p);
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < d; k++)
                TensorPrimitives.Add(z.Slice((r * d + k) * h, h), delta2.Slice(r % n * h, h), z.Slice((r * d + k) * h, h));
        // Head: Linear(H D -> d_ff) -> GELU -> Linear(d_ff -> H), dropout.
        var gpre = ws.HeadPre.AsSpan(0, rows * f);
        Gemm.Multiply(false, false, rows, f, dh, 1, z, Head1W.Of(p), 0, gpre);
        AddBias(gpre, rows, Head1B.Of(p));
        var gact = ws.HeadHidden.AsSpan(0, rows * f);
        Gelu.Forward(gpre, gact);
        var outp = ws.HeadOut.AsSpan(0, rows * h);
        Gemm.Multiply(false, false, rows, h, f, 1, gact, Head2W.Of(p), 0, outp);
        AddBias(outp, rows, Head2B.Of(p));
        if (train) dropout.Apply(outp, ws.MaskHead, site, n * h);
        // Undo RevIN: y = (out - beta) / (gamma + eps) sd + mean, written time-major.
        var forecast = ws.Forecast;
        for (int r = 0; r < rows; r++)
        {
            int b = r / n, c = r % n;
            float scale = ws.Std[r] / (gamma[c] + DenormEpsilon);
            for (int k = 0; k < h; k++)
                forecast[(b * h + k) * n + c] = (outp[r * h + k] - beta[c]) * scale + ws.Mean[r];
        }
    }

    /// <summary>
    /// Backward pass after <see cref="Forward"/>: accumulates into <paramref name="grad"/> (same layout as
    /// <see cref="Values"/>) the gradient for dL/d(forecast) = <paramref name="dForecast"/> (batch x H x N).
    /// </summary>
    public void Backward(Workspace ws, ReadOnlySpan<float> dForecast, float[] grad)
    {
        var s = Shape;
        int n = s.Channels, t = s.Lookback, h = s.Horizon, d = s.Embedding, m = s.ModelWidth, f = s.FeedForwardWidth;
        int batch = ws.Batch, rows = batch * n, dh = d * h;
        bool train = ws.Training;
        var p = Values;
        var gamma = Gamma.Of(p); var beta = Beta.Of(p);
        var dGamma = Gamma.Of(grad); var dBeta = Beta.Of(grad);

        // Denormalisation.
        var outp = ws.HeadOut.AsSpan(0, rows * h);
        var dOut = ws.GradHeadOut.AsSpan(0, rows * h);
        for (int r = 0; r < rows; r++)
        {
            int b = r / n, c = r % n;
            float ge = gamma[c] + DenormEpsilon;
            float scale = ws.Std[r] / ge;
            float gb = 0, gg = 0;
            for (int k = 0; k < h; k++)
            {
                float g = dForecast[(b * h + k) * n + c] * scale;
                dOut[r * h + k] = g;
                gb += g;
                gg += g * (outp[r * h + k] - beta[c]);
            }
            dBeta[c] -= gb;
            dGamma[c] -= gg / ge;
        }
        if (train) TensorPrimitives.Multiply(dOut, ws.MaskHead.AsSpan(0, rows * h), dOut);
        // Head.
        var gact = ws.HeadHidden.AsSpan(0, rows * f);
        var dg = ws.GradHeadHidden.AsSpan(0, rows * f);
        LinearBackward(gact, dOut, rows, f, h, Head2W.Of(p), Head2W.Of(grad), Head2B.Of(grad), dg, accumulate: false);
        Gelu.Backward(ws.HeadPre.AsSpan(0, rows * f), dg, default, dg);
        var z = ws.OutSeries.AsSpan(0, rows * dh);
        var dz = ws.GradOutSeries.AsSpan(0, rows * dh);
        LinearBackward(z, dg, rows, dh, f, Head1W.Of(p), Head1W.Of(grad), Head1B.Of(grad), dz, accumulate: false);
        // Inverse OrthoTrans and delta2.
        var dDelta2 = Delta2.Of(grad);
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < d; k++)
                TensorPrimitives.Add(dDelta2.Slice(r % n * h, h), dz.Slice((r * d + k) * h, h), dDelta2.Slice(r % n * h, h));
        var dyd = ws.GradOutCoefficients.AsSpan(0, rows * dh);
        Gemm.Multiply(false, true, rows * d, h, h, 1, dz, OutputBasis, 0, dyd);
        var xf = ws.Final.AsSpan(0, rows * m);
        var dx = ws.GradX.AsSpan(0, rows * m);
        LinearBackward(xf, dyd, rows, m, dh, OutW.Of(p), OutW.Of(grad), OutB.Of(grad), dx, accumulate: false);
        LayerNormBackward(dx, ws.FinalHat, ws.FinalRstd, rows, m, NormG.Of(p), NormG.Of(grad), NormB.Of(grad), dx, ws.Row);

        for (int l = s.Blocks - 1; l >= 0; l--)
        {
            var blk = Blocks[l];
            var bw = ws.Blocks[l];
            // dx holds dL/dX2.
            LayerNormBackward(dx, bw.Hat2, bw.Rstd2, rows, m, blk.Norm2G.Of(p), blk.Norm2G.Of(grad), blk.Norm2B.Of(grad), dx, ws.Row);
            var dy = ws.GradY.AsSpan(0, rows * m);
            dx.CopyTo(dy);
            if (train) TensorPrimitives.Multiply(dy, bw.MaskFfn.AsSpan(0, rows * m), dy);
            var hid = bw.Hidden.AsSpan(0, rows * f);
            var dh1 = ws.GradHidden.AsSpan(0, rows * f);
            LinearBackward(hid, dy, rows, f, m, blk.Ffn2W.Of(p), blk.Ffn2W.Of(grad), blk.Ffn2B.Of(grad), dh1, accumulate: false);
            Gelu.Backward(bw.HiddenPre.AsSpan(0, rows * f), dh1, train ? bw.MaskHidden.AsSpan(0, rows * f) : default, dh1);
            var x1 = bw.X1.AsSpan(0, rows * m);
            LinearBackward(x1, dh1, rows, m, f, blk.Ffn1W.Of(p), blk.Ffn1W.Of(grad), blk.Ffn1B.Of(grad), dx, accumulate: true);
            // dx holds dL/dX1.
            LayerNormBackward(dx, bw.Hat1, bw.Rstd1, rows, m, blk.Norm1G.Of(p), blk.Norm1G.Of(grad), blk.Norm1B.Of(grad), dx, ws.Row);
            // dx holds dL/dS1 = dL/dXin (residual part).
            var dO = ws.GradY.AsSpan(0, rows * m);
            dx.CopyTo(dO);
            if (train) TensorPrimitives.Multiply(dO, bw.MaskOut.AsSpan(0, rows * m), dO);
            var mixed = bw.Mixed.AsSpan(0, rows * m);
            var dMix = ws.GradMixed.AsSpan(0, rows * m);
            LinearBackward(mixed, dO, rows, m, m, blk.OutW.Of(p), blk.OutW.Of(grad), blk.OutB.Of(grad), dMix, accumulate: false);
            // Mix_b = Ad V_b: dV_b = Ad^T dMix_b, dAd = sum_b dMix_b V_b^T.
            var v = bw.Value.AsSpan(0, rows * m);
            var dv = ws.GradY.AsSpan(0, rows * m);
            dv.Clear();
            var dAd = ws.GradA;
            Array.Clear(dAd);
            var ad = bw.DroppedA;
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < n; i++)
                {
                    var gi = dMix.Slice((b * n + i) * m, m);
                    for (int j = 0; j < n; j++)
                    {
                        var vj = v.Slice((b * n + j) * m, m);
                        dAd[i * n + j] += TensorPrimitives.Dot(gi, vj);
                        var dvj = dv.Slice((b * n + j) * m, m);
                        TensorPrimitives.MultiplyAdd(gi, ad[i * n + j], dvj, dvj);
                    }
                }
            TensorPrimitives.Multiply(dAd, bw.MixWeights, dAd);
            NormLinWeightsBackward(blk.Mix.Of(p), bw.A, dAd, n, blk.Mix.Of(grad));
            var xin = ws.BlockInput[l].AsSpan(0, rows * m);
            LinearBackward(xin, dv, rows, m, m, blk.ValueW.Of(p), blk.ValueW.Of(grad), blk.ValueB.Of(grad), dx, accumulate: true);
        }

        // Input side: X0 = uq W_eff + delta1 S + b_in per channel.
        AddColumnSums(dx, rows, InB.Of(grad));
        var gch = ws.ChannelBias.AsSpan(0, n * m); // reused: per-channel sum of dX0
        gch.Clear();
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(gch.Slice(r % n * m, m), dx.Slice(r * m, m), gch.Slice(r % n * m, m));
        var dWeff = ws.GradEffectiveIn.AsSpan(0, t * m);
        Gemm.Multiply(true, false, t, m, rows, 1, ws.Coefficients, dx, 0, dWeff);
        var dS = ws.GradSummedIn.AsSpan(0, t * m);
        Gemm.Multiply(true, false, t, m, n, 1, Delta1.Of(p), gch, 0, dS);
        var inW = InW.Of(p); var dInW = InW.Of(grad);
        var phi = Phi.Of(p); var dPhi = Phi.Of(grad);
        for (int k = 0; k < d; k++)
        {
            var gk = dInW.Slice(k * t * m, t * m);
            TensorPrimitives.MultiplyAdd(dWeff, phi[k], gk, gk);
            TensorPrimitives.Add(gk, dS, gk);
            dPhi[k] += TensorPrimitives.Dot(dWeff, inW.Slice(k * t * m, t * m));
        }
        Gemm.Multiply(false, true, n, t, m, 1, gch, ws.SummedIn, 1, Delta1.Of(grad));
        var duq = ws.GradCoefficients.AsSpan(0, rows * t);
        Gemm.Multiply(false, true, rows, t, m, 1, dx, ws.EffectiveIn, 0, duq);
        var du = ws.Scratch.AsSpan(0, rows * t);
        Gemm.Multiply(false, false, rows, t, t, 1, duq, InputBasis, 0, du);
        for (int r = 0; r < rows; r++)
        {
            int c = r % n;
            var dur = du.Slice(r * t, t);
            dGamma[c] += TensorPrimitives.Dot(dur, ws.Normalised.AsSpan(r * t, t));
            dBeta[c] += TensorPrimitives.Sum(dur);
        }
    }

    // Backward of y = x W + b over rows (x: rows x inSize, W: inSize x outSize): dW += x^T dy, db += column sums of dy,
    // and dx = dy W^T, or dx += dy W^T where the input also feeds a residual path.
    private static void LinearBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int rows, int inSize, int outSize,
        ReadOnlySpan<float> w, Span<float> dW, Span<float> db, Span<float> dx, bool accumulate)
    {
        Gemm.Multiply(true, false, inSize, outSize, rows, 1, x, dy, 1, dW);
        AddColumnSums(dy, rows, db);
        Gemm.Multiply(false, true, rows, inSize, outSize, 1, dy, w, accumulate ? 1 : 0, dx);
    }

    /// <summary>Buffers of one forward / backward pass for up to <see cref="Capacity"/> windows.</summary>
    internal sealed class Workspace
    {
        private readonly OLinearShape _shape;

        public Workspace(OLinearShape shape, int capacity)
        {
            _shape = shape;
            int n = shape.Channels, t = shape.Lookback, m = shape.ModelWidth;
            EffectiveIn = new float[t * m]; SummedIn = new float[t * m]; ChannelBias = new float[n * m];
            GradEffectiveIn = new float[t * m]; GradSummedIn = new float[t * m];
            GradA = new float[n * n];
            Row = new float[Math.Max(m, shape.FeedForwardWidth)];
            Blocks = Enumerable.Range(0, shape.Blocks).Select(_ => new BlockBuffers(n)).ToArray();
            BlockInput = new float[shape.Blocks + 1][];
            Allocate(capacity);
        }

        public int Capacity { get; private set; }
        public int Batch { get; set; }
        public bool Training { get; set; }

        public float[] Mean = [], Std = [], Normalised = [], Scratch = [], Coefficients = [], GradCoefficients = [];
        public readonly float[] EffectiveIn, SummedIn, ChannelBias, GradEffectiveIn, GradSummedIn, GradA, Row;
        public float[][] BlockInput;
        public readonly BlockBuffers[] Blocks;
        public float[] Final = [], FinalHat = [], FinalRstd = [], OutCoefficients = [], OutSeries = [], HeadPre = [], HeadHidden = [],
            HeadOut = [], MaskHead = [], Forecast = [];
        public float[] GradHeadOut = [], GradHeadHidden = [], GradOutSeries = [], GradOutCoefficients = [], GradX = [], GradY = [],
            GradHidden = [], GradMixed = [];

        public void Ensure(int batch)
        {
            if (batch > Capacity) Allocate(batch);
        }

        private void Allocate(int capacity)
        {
            var s = _shape;
            int rows = capacity * s.Channels, t = s.Lookback, h = s.Horizon, m = s.ModelWidth, f = s.FeedForwardWidth, dh = s.Embedding * h;
            Capacity = capacity;
            Mean = new float[rows]; Std = new float[rows];
            Normalised = new float[rows * t]; Scratch = new float[rows * t]; Coefficients = new float[rows * t]; GradCoefficients = new float[rows * t];
            for (int l = 0; l <= s.Blocks; l++) BlockInput[l] = new float[rows * m];
            foreach (var b in Blocks) b.Allocate(rows, m, f);
            Final = new float[rows * m]; FinalHat = new float[rows * m]; FinalRstd = new float[rows];
            OutCoefficients = new float[rows * dh]; OutSeries = new float[rows * dh];
            HeadPre = new float[rows * f]; HeadHidden = new float[rows * f]; HeadOut = new float[rows * h]; MaskHead = new float[rows * h];
            Forecast = new float[rows * h];
            GradHeadOut = new float[rows * h]; GradHeadHidden = new float[rows * f]; GradOutSeries = new float[rows * dh];
            GradOutCoefficients = new float[rows * dh]; GradX = new float[rows * m]; GradY = new float[rows * m];
            GradHidden = new float[rows * f]; GradMixed = new float[rows * m];
        }
    }

    /// <summary>Saved activations and dropout masks of one NormLin block.</summary>
    internal sealed class BlockBuffers(int n)
    {
        public readonly float[] A = new float[n * n], DroppedA = new float[n * n], MixWeights = new float[n * n];
        public float[] Value = [], Mixed = [], Sum1 = [], MaskOut = [], X1 = [], Hat1 = [], Rstd1 = [], HiddenPre = [], Hidden = [],
            MaskHidden = [], Sum2 = [], MaskFfn = [], Hat2 = [], Rstd2 = [];

        public void Allocate(int rows, int m, int f)
        {
            Value = new float[rows * m]; Mixed = new float[rows * m]; Sum1 = new float[rows * m]; MaskOut = new float[rows * m];
            X1 = new float[rows * m]; Hat1 = new float[rows * m]; Rstd1 = new float[rows];
            HiddenPre = new float[rows * f]; Hidden = new float[rows * f]; MaskHidden = new float[rows * f];
            Sum2 = new float[rows * m]; MaskFfn = new float[rows * m]; Hat2 = new float[rows * m]; Rstd2 = new float[rows];
        }
    }
}
