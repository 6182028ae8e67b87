using System.Runtime.Intrinsics;

namespace MLTransforms.Core.Numerics;

/// <summary>
/// Adam (PyTorch's form with bias correction) over one flat parameter buffer, with optional decoupled weight decay
/// (AdamW) on a leading range of it: the one optimiser of the library's trained components (OLinear, the residual
/// MLP embedding adapter). The update is fused in one pass, SIMD, optionally split over the cores; each element is
/// updated independently, so the result does not depend on the split.
/// </summary>
internal sealed class Adam(int parameters, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f)
{
    private readonly float[] _m = new float[parameters];
    private readonly float[] _v = new float[parameters];
    private long _step;

    /// <summary>Number of updates made.</summary>
    public long Steps => _step;

    /// <summary>
    /// One update of <paramref name="p"/> with the gradient <paramref name="g0"/> (+ <paramref name="g1"/> when given:
    /// the sum of two shards' gradients). Weight decay p -= lr * decay * p applies to p[0 .. decayCount) before the step.
    /// </summary>
    public void Step(float[] p, float[] g0, float[]? g1, float lr, ParallelOptions? parallel = null, float decay = 0, int decayCount = 0)
    {
        if (p.Length != _m.Length || g0.Length < p.Length || (g1 is not null && g1.Length < p.Length))
            throw new ArgumentException($"Adam over {_m.Length} parameters got {p.Length} parameters and gradients of {g0.Length}/{g1?.Length}.");
        _step++;
        float bc1 = 1 - MathF.Pow(beta1, _step), bc2 = 1 - MathF.Pow(beta2, _step);
        float stepSize = lr / bc1, invSqrtBc2 = 1 / MathF.Sqrt(bc2);
        if (decay != 0)
        {
            float keep = 1 - lr * decay;
            System.Numerics.Tensors.TensorPrimitives.Multiply(p.AsSpan(0, decayCount), keep, p.AsSpan(0, decayCount));
        }
        const int Parts = 8;
        int chunk = (p.Length / Parts + 7) & ~7;
        if (parallel is null)
            Range(p, g0, g1, 0, p.Length, stepSize, invSqrtBc2);
        else
            Parallel.For(0, Parts, parallel, part =>
            {
                int from = Math.Min(p.Length, part * chunk), to = part == Parts - 1 ? p.Length : Math.Min(p.Length, from + chunk);
                Range(p, g0, g1, from, to, stepSize, invSqrtBc2);
            });
    }

    private void Range(float[] p, float[] g0, float[]? g1, int from, int to, float stepSize, float invSqrtBc2)
    {
        float[] m = _m, v = _v;
        int i = from;
        if (Vector256.IsHardwareAccelerated)
        {
            var b1 = Vector256.Create(beta1); var nb1 = Vector256.Create(1 - beta1);
            var b2 = Vector256.Create(beta2); var nb2 = Vector256.Create(1 - beta2);
            var ss = Vector256.Create(stepSize); var ib = Vector256.Create(invSqrtBc2); var eps = Vector256.Create(epsilon);
            for (; i + 8 <= to; i += 8)
            {
                var gi = Vector256.Create<float>(g0.AsSpan(i, 8));
                if (g1 is not null) gi += Vector256.Create<float>(g1.AsSpan(i, 8));
                var mi = b1 * Vector256.Create<float>(m.AsSpan(i, 8)) + nb1 * gi;
                var vi = b2 * Vector256.Create<float>(v.AsSpan(i, 8)) + nb2 * gi * gi;
                var pi = Vector256.Create<float>(p.AsSpan(i, 8)) - ss * mi / (Vector256.Sqrt(vi) * ib + eps);
                mi.CopyTo(m.AsSpan(i, 8)); vi.CopyTo(v.AsSpan(i, 8)); pi.CopyTo(p.AsSpan(i, 8));
            }
        }
        for (; i < to; i++)
        {
            float g = g1 is null ? g0[i] : g0[i] + g1[i];
            m[i] = beta1 * m[i] + (1 - beta1) * g;
            v[i] = beta2 * v[i] + (1 - beta2) * g * g;
            p[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) * invSqrtBc2 + epsilon);
        }
    }
}
