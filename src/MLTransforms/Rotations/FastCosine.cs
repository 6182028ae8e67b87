using System.Numerics;

namespace MLTransforms.Rotations;

/// <summary>
/// Vectorised single-precision cosine for the random-feature maps: Cody-Waite reduction by pi/2 in three parts and
/// the Cephes minimax polynomials for sin and cos on [-pi/4, pi/4]. Absolute error below 1e-6 for |x| up to 2^17;
/// larger arguments (rare: they mean the kernel is far too narrow for the data) take <see cref="MathF.Cos"/>.
/// About four times faster than <c>TensorPrimitives.Cos</c>, which dominates the cost of a SORF row.
/// </summary>
internal static class FastCosine
{
    private const float MaxFast = 131072f;
    private const float TwoOverPi = 0.636619772367581343f;
    // pi/2 = C1 + C2 + C3, C1 and C2 with few significant bits so q * C1 and q * C2 are exact.
    private const float C1 = 1.5703125f, C2 = 4.837512969970703125e-4f, C3 = 7.54978995489188216e-8f;

    /// <summary>y = cos(x) elementwise; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Cos(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var limit = new Vector<float>(MaxFast);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(x[i..]);
                if (Vector.GreaterThanAny(Vector.Abs(v), limit))
                {
                    for (int j = i; j < i + Vector<float>.Count; j++) y[j] = MathF.Cos(x[j]);
                    continue;
                }
                Cos(v).CopyTo(y[i..]);
            }
        }
        for (; i < x.Length; i++)
            y[i] = MathF.Abs(x[i]) > MaxFast ? MathF.Cos(x[i]) : Cos(new Vector<float>(x[i]))[0];
    }

    private static Vector<float> Cos(Vector<float> x)
    {
        var q = Vector.Round(x * TwoOverPi);
        var r = Vector.FusedMultiplyAdd(q, new Vector<float>(-C1), x);
        r = Vector.FusedMultiplyAdd(q, new Vector<float>(-C2), r);
        r = Vector.FusedMultiplyAdd(q, new Vector<float>(-C3), r);
        var z = r * r;
        // cos r and sin r on [-pi/4, pi/4] (Cephes cosf / sinf coefficients).
        var c = Vector.FusedMultiplyAdd(z, new Vector<float>(2.443315711809948e-5f), new Vector<float>(-1.388731625493765e-3f));
        c = Vector.FusedMultiplyAdd(c, z, new Vector<float>(4.166664568298827e-2f));
        c = Vector.FusedMultiplyAdd(c, z * z, Vector.FusedMultiplyAdd(z, new Vector<float>(-0.5f), Vector<float>.One));
        var s = Vector.FusedMultiplyAdd(z, new Vector<float>(-1.9515295891e-4f), new Vector<float>(8.3321608736e-3f));
        s = Vector.FusedMultiplyAdd(s, z, new Vector<float>(-1.6666654611e-1f));
        s = Vector.FusedMultiplyAdd(s * z, r, r);
        // cos(q pi/2 + r) = cos r, -sin r, -cos r, sin r for q = 0, 1, 2, 3 (mod 4).
        var qi = Vector.ConvertToInt32(q);
        var odd = Vector.Equals(qi & Vector<int>.One, Vector<int>.One);
        var result = Vector.ConditionalSelect(odd, s, c);
        var negate = ((qi + Vector<int>.One) & new Vector<int>(2)) << 30;
        return Vector.AsVectorSingle(Vector.AsVectorInt32(result) ^ negate);
    }
}
