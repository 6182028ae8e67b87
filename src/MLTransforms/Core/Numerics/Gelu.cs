using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLTransforms.Core.Numerics;

/// <summary>GELU and its derivative (exact erf form, as ONNX Gelu with approximate = "none"): the one activation kernel of
/// the library's trained components (OLinear, the residual MLP embedding adapter). Span in, span out; output may alias input.</summary>
internal static class Gelu
{
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>erf(x), Abramowitz and Stegun 7.1.26 refined (absolute error below 1.5e-7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Erf(float x)
    {
        float ax = MathF.Abs(x);
        float t = 1f / (1f + 0.3275911f * ax);
        float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
        float r = 1f - poly * MathF.Exp(-ax * ax);
        return x < 0 ? -r : r;
    }

    /// <summary>GELU (exact, erf form): y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2.</summary>
    internal static void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var half = Vector256.Create(0.5f);
            for (; i + 8 <= x.Length; i += 8)
            {
                var v = Vector256.Create<float>(x.Slice(i, 8));
                (half * v * (Vector256<float>.One + ErfV(v * Vector256.Create(InvSqrt2)))).CopyTo(y.Slice(i, 8));
            }
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            y[i] = 0.5f * v * (1f + Erf(v * InvSqrt2));
        }
    }

    /// <summary>dx = dy (Phi(x) + x phi(x)), optionally times a dropout mask.</summary>
    internal static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> mask, Span<float> dx)
    {
        bool masked = !mask.IsEmpty;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var half = Vector256.Create(0.5f);
            for (; i + 8 <= x.Length; i += 8)
            {
                var v = Vector256.Create<float>(x.Slice(i, 8));
                var d = half * (Vector256<float>.One + ErfV(v * Vector256.Create(InvSqrt2)))
                    + v * Vector256.Create(InvSqrt2Pi) * Vector256.Exp(-half * v * v);
                var g = Vector256.Create<float>(dy.Slice(i, 8)) * d;
                if (masked) g *= Vector256.Create<float>(mask.Slice(i, 8));
                g.CopyTo(dx.Slice(i, 8));
            }
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            float d = 0.5f * (1f + Erf(v * InvSqrt2)) + v * InvSqrt2Pi * MathF.Exp(-0.5f * v * v);
            dx[i] = dy[i] * d * (masked ? mask[i] : 1f);
        }
    }

    /// <summary>Eight lanes of <see cref="Erf"/> (same approximation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ErfV(Vector256<float> x)
    {
        var one = Vector256<float>.One;
        var ax = Vector256.Abs(x);
        var t = one / (one + Vector256.Create(0.3275911f) * ax);
        var poly = t * (Vector256.Create(0.254829592f) + t * (Vector256.Create(-0.284496736f) + t * (Vector256.Create(1.421413741f)
            + t * (Vector256.Create(-1.453152027f) + t * Vector256.Create(1.061405429f)))));
        var r = one - poly * Vector256.Exp(-(ax * ax));
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), -r, r);
    }
}
