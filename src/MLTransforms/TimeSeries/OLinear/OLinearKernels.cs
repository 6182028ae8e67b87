using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using MLTransforms.Core.Numerics;

namespace MLTransforms.TimeSeries.OLinear;

/// <summary>Forward and backward kernels of the OLinear layers that are not matrix products (span in, span out).</summary>
internal static class OLinearKernels
{
    internal const float LayerNormEpsilon = 1e-5f;

    /// <summary>Row-wise LayerNorm over <paramref name="width"/> values: xhat = (x - mean) / sqrt(var + eps), y = g xhat + b.
    /// Stores xhat and 1 / sqrt(var + eps) for the backward pass.</summary>
    internal static void LayerNorm(ReadOnlySpan<float> x, int rows, int width, ReadOnlySpan<float> g, ReadOnlySpan<float> b,
        Span<float> y, Span<float> xhat, Span<float> rstd)
    {
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * width, width);
            var hr = xhat.Slice(r * width, width);
            float mean = TensorPrimitives.Sum(xr) / width;
            TensorPrimitives.Subtract(xr, mean, hr);
            float var = TensorPrimitives.SumOfSquares(hr) / width;
            float rs = 1f / MathF.Sqrt(var + LayerNormEpsilon);
            rstd[r] = rs;
            TensorPrimitives.Multiply(hr, rs, hr);
            TensorPrimitives.FusedMultiplyAdd(hr, g, b, y.Slice(r * width, width));
        }
    }

    /// <summary>LayerNorm backward: dg += sum dy xhat, db += sum dy, dx = rstd (dxhat - mean dxhat - xhat mean(dxhat xhat)),
    /// dxhat = g dy. <paramref name="dx"/> may alias <paramref name="dy"/>. <paramref name="tmp"/> holds width floats.</summary>
    internal static void LayerNormBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, ReadOnlySpan<float> rstd, int rows, int width,
        ReadOnlySpan<float> g, Span<float> dg, Span<float> db, Span<float> dx, Span<float> tmp)
    {
        tmp = tmp[..width];
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * width, width);
            var hr = xhat.Slice(r * width, width);
            for (int j = 0; j < width; j++) { dg[j] += dyr[j] * hr[j]; db[j] += dyr[j]; }
            TensorPrimitives.Multiply(dyr, g, tmp);
            float m1 = TensorPrimitives.Sum(tmp) / width;
            float m2 = TensorPrimitives.Dot(tmp, hr) / width;
            var dxr = dx.Slice(r * width, width);
            for (int j = 0; j < width; j++) dxr[j] = rstd[r] * (tmp[j] - m1 - hr[j] * m2);
        }
    }

    /// <summary>A = row-L1-normalise(softplus(W)) for an n x n matrix (NormLin's token-mixing weights).</summary>
    internal static void NormLinWeights(ReadOnlySpan<float> w, int n, Span<float> a)
    {
        for (int i = 0; i < n; i++)
        {
            float sum = 0;
            for (int j = 0; j < n; j++) sum += a[i * n + j] = Softplus(w[i * n + j]);
            float inv = 1f / MathF.Max(sum, 1e-12f);
            for (int j = 0; j < n; j++) a[i * n + j] *= inv;
        }
    }

    /// <summary>Backward of <see cref="NormLinWeights"/>: dW_ij += sigmoid(W_ij) (dA_ij - sum_k dA_ik A_ik) / s_i.</summary>
    internal static void NormLinWeightsBackward(ReadOnlySpan<float> w, ReadOnlySpan<float> a, ReadOnlySpan<float> da, int n, Span<float> dw)
    {
        for (int i = 0; i < n; i++)
        {
            float s = 0, dot = 0;
            for (int j = 0; j < n; j++) { s += Softplus(w[i * n + j]); dot += da[i * n + j] * a[i * n + j]; }
            for (int j = 0; j < n; j++)
            {
                float sig = 1f / (1f + MathF.Exp(-w[i * n + j]));
                dw[i * n + j] += sig * (da[i * n + j] - dot) / s;
            }
        }
    }

    /// <summary>softplus(x) = log(1 + e^x), computed without overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Softplus(float x) => x > 20 ? x : MathF.Log(1f + MathF.Exp(x));

    /// <summary>out[r, :] += bias for every row.</summary>
    internal static void AddBias(Span<float> x, int rows, ReadOnlySpan<float> bias)
    {
        int w = bias.Length;
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(x.Slice(r * w, w), bias, x.Slice(r * w, w));
    }

    /// <summary>db += sum over rows of dy.</summary>
    internal static void AddColumnSums(ReadOnlySpan<float> dy, int rows, Span<float> db)
    {
        int w = db.Length;
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dy.Slice(r * w, w), db);
    }
}

/// <summary>
/// The dropout masks of one training step. Each window's masks come from its own stream (step seed, mask site, window
/// index in the batch), so a batch split over threads in any way draws exactly the masks of the unsplit batch.
/// </summary>
/// <param name="Rate">Dropout probability; 0 is inference.</param>
/// <param name="StepSeed">Seed of the step.</param>
/// <param name="FirstWindow">Index within the batch of the first window this forward pass sees.</param>
internal readonly record struct DropoutPlan(float Rate, ulong StepSeed, int FirstWindow)
{
    /// <summary>No dropout (inference).</summary>
    public static DropoutPlan None => default;

    public bool Active => Rate > 0;

    /// <summary>Masks <paramref name="x"/> (windows of <paramref name="perWindow"/> values each) in place, storing the mask.</summary>
    public void Apply(Span<float> x, Span<float> mask, int site, int perWindow)
    {
        for (int w = 0; w * perWindow < x.Length; w++)
        {
            var rng = new SplitMix64(Stream(site, FirstWindow + w));
            Fill(ref rng, mask.Slice(w * perWindow, perWindow), Rate);
        }
        TensorPrimitives.Multiply(x, mask[..x.Length], x);
    }

    /// <summary>A mask shared by the whole batch (NormLin's token-mixing matrix is dropped once per step).</summary>
    public void FillShared(Span<float> mask, int site)
    {
        var rng = new SplitMix64(Stream(site, -1));
        Fill(ref rng, mask, Rate);
    }

    private ulong Stream(int site, int window)
    {
        var mix = new SplitMix64(StepSeed ^ ((ulong)(uint)site << 32 | (uint)window));
        return mix.Next();
    }

    /// <summary>Inverted-dropout mask: 0 with probability p, else 1 / (1 - p); two mask values per 64-bit draw.</summary>
    private static void Fill(ref SplitMix64 rng, Span<float> mask, float p)
    {
        float keep = 1f / (1f - p);
        uint threshold = (uint)(p * 4294967296.0);
        for (int i = 0; i < mask.Length; i += 2)
        {
            ulong r = rng.Next();
            mask[i] = (uint)r < threshold ? 0f : keep;
            if (i + 1 < mask.Length) mask[i + 1] = (uint)(r >> 32) < threshold ? 0f : keep;
        }
    }
}
