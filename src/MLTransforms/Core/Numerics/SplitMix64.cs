using System.Runtime.CompilerServices;

namespace MLTransforms.Core.Numerics;

/// <summary>
/// The library's one seeded generator: SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014), a tiny, fully specified algorithm, so every seeded random choice in this library is
/// identical on every machine and every .NET version (unlike <see cref="Random"/>, whose algorithm the runtime does
/// not promise to keep). A mutable struct: pass it by <c>ref</c>, never copy it mid-stream.
/// </summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>A generator for stream <paramref name="stream"/> of <paramref name="seed"/>: independent streams from one user seed.</summary>
    public static SplitMix64 For(int seed, ulong stream) => new(Mix(unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) ^ Mix(stream + 0x632BE59BD9B4E019UL)));

    /// <summary>The next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        return Mix(z);
    }

    /// <summary>The next 64 random bits (same as <see cref="Next"/>).</summary>
    public ulong NextUInt64() => Next();

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 random bits (exact in float).</summary>
    public float NextSingle() => (Next() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// Uniform integer in [0, n) by Lemire's multiply-shift on 32 random bits. Each value's probability is off by
    /// less than 2^-32 (below 1e-6 relative for n up to 4096); rejection would remove that but would change the
    /// streams that published rotations and golden files depend on, so it is not used. <see cref="Shuffle{T}"/>
    /// uses 64 bits and is exact to 2^-64.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not positive.</exception>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        return (int)(((Next() >> 32) * (ulong)(uint)n) >> 32);
    }

    /// <summary>Fills <paramref name="signs"/> with independent Rademacher values (+1 or -1), 64 per generator call.</summary>
    public void FillSigns(Span<float> signs)
    {
        for (int i = 0; i < signs.Length; i += 64)
        {
            ulong bits = Next();
            int n = Math.Min(64, signs.Length - i);
            for (int j = 0; j < n; j++, bits >>= 1)
                signs[i + j] = (bits & 1) == 0 ? 1f : -1f;
        }
    }

    /// <summary>A standard normal value (Box-Muller, one of the pair; two draws per value).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A Gamma(shape, 1) value (Marsaglia and Tsang 2000; shapes below 1 boosted by U^(1/shape)).</summary>
    public double NextGamma(double shape)
    {
        if (shape < 1)
            return NextGamma(shape + 1) * Math.Pow(1.0 - NextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x = NextGaussian(), v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = 1.0 - NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
                return d * v;
        }
    }

    /// <summary>Fisher-Yates shuffle from the back, one 64-bit draw reduced modulo i + 1 per position (bias below
    /// 2^-32 for any span length; the OLinear trainer's epoch order is this exact stream).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = (int)(Next() % (ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary><paramref name="k"/> distinct indices drawn uniformly from [0, <paramref name="n"/>), in increasing
    /// order (a partial Fisher-Yates shuffle: the first k positions of a random permutation).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is outside [0, n].</exception>
    public int[] SampleWithoutReplacement(int n, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"Must be in [0, {n}].");
        var all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        for (int i = 0; i < k; i++)
        {
            int j = i + (int)(Next() % (ulong)(n - i));
            (all[i], all[j]) = (all[j], all[i]);
        }
        var pick = all[..k];
        Array.Sort(pick);
        return pick;
    }
}
