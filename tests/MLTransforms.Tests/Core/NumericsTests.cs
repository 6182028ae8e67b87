using MLTransforms.Core.Numerics;

namespace MLTransforms.Tests.Core;

public class GemmTests
{
    private static float[] Uniform(ref SplitMix64 rng, int count)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = 2 * rng.NextSingle() - 1;
        return v;
    }

    private static double[] Reference(bool transA, bool transB, int m, int n, int k, double alpha, float[] a, float[] b, double beta, float[] c)
    {
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double)(transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                expected[i * n + j] = alpha * s + beta * c[i * n + j];
            }
        return expected;
    }

    private static readonly (int M, int N, int K)[] OddShapes = [(1, 1, 1), (5, 17, 3), (9, 33, 70), (64, 48, 130), (7, 31, 300), (3, 5, 0)];

    [Theory]
    [InlineData(false, false, true)]
    [InlineData(true, false, true)]
    [InlineData(false, true, true)]
    [InlineData(true, true, true)]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(true, true, false)]
    public void ProductMatchesADoubleReferenceForEveryLayoutAndOddSizes(bool transA, bool transB, bool managed)
    {
        Gemm.ForceManaged = managed;
        try
        {
            foreach (var (m, n, k) in OddShapes)
            {
                var rng = new SplitMix64((ulong)(m * 1000 + n * 10 + k));
                var a = Uniform(ref rng, m * k);
                var b = Uniform(ref rng, k * n);
                var c = Uniform(ref rng, m * n);
                var expected = Reference(transA, transB, m, n, k, 0.5, a, b, -2, c);
                Gemm.Multiply(transA, transB, m, n, k, 0.5f, a, b, -2f, c);
                for (int i = 0; i < m * n; i++)
                    Assert.True(Math.Abs(expected[i] - c[i]) < 1e-5 * (4 + k),
                        $"{m}x{n}x{k} transA={transA} transB={transB} managed={managed} entry {i}: {c[i]} vs {expected[i]}");
            }
        }
        finally { Gemm.ForceManaged = false; }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void NativeAndManagedAgreeToFloatRounding(bool transA, bool transB)
    {
        // With a native BLAS the two backends must agree to float rounding; without one, Multiply must be the managed
        // kernel exactly (this machine's fallback).
        double tolerance = Gemm.NativeAvailable ? 2e-6 : 0;
        foreach (var (m, n, k) in OddShapes.Append((67, 129, 513)))
        {
            var rng = new SplitMix64((ulong)(m + 7 * n + 31 * k));
            var a = Uniform(ref rng, m * k);
            var b = Uniform(ref rng, k * n);
            var c0 = Uniform(ref rng, m * n);
            var native = (float[])c0.Clone();
            var managed = (float[])c0.Clone();
            Gemm.Multiply(transA, transB, m, n, k, 1.5f, a, b, 0.25f, native);
            Gemm.ForceManaged = true;
            try { Gemm.Multiply(transA, transB, m, n, k, 1.5f, a, b, 0.25f, managed); }
            finally { Gemm.ForceManaged = false; }
            for (int i = 0; i < m * n; i++)
                Assert.True(Math.Abs(native[i] - managed[i]) <= tolerance * (4 + k),
                    $"{m}x{n}x{k} entry {i}: {Gemm.BackendName} {native[i]} vs managed {managed[i]}");
        }
    }

    [Fact]
    public void BetaZeroIgnoresWhateverCHeld()
    {
        // BLAS semantics: beta = 0 overwrites C, so NaN garbage in C must not leak into the product.
        foreach (bool managed in new[] { true, false })
        {
            Gemm.ForceManaged = managed;
            try
            {
                var c = new float[] { float.NaN, float.PositiveInfinity, 1, 2 };
                Gemm.Multiply(false, false, 2, 2, 1, 1, [1f, 2f], [3f, 4f], 0, c);
                Assert.Equal([3f, 4f, 6f, 8f], c);
            }
            finally { Gemm.ForceManaged = false; }
        }
    }

    [Fact]
    public void BadSizesAreRejectedAndTheBackendIsDescribed()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 2, 1, new float[3], new float[4], 0, new float[4]));
        Assert.Contains("need 4", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(false, false, -1, 2, 2, 1, new float[4], new float[4], 0, new float[4]));
        Assert.False(string.IsNullOrWhiteSpace(Gemm.BackendDescription));
        if (Gemm.NativeAvailable)
            Assert.NotEqual("managed", Gemm.BackendName);
        else
        {
            Assert.Equal("managed", Gemm.BackendName);
            Assert.Contains("tried", Gemm.BackendDescription);
        }
    }

    [Fact]
    public void NativeCandidatesCoverTheUsualNamesOfThisPlatform()
    {
        var paths = NativeBlas.Candidates().Select(c => c.Path).ToList();
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal("libopenblas.so.0", paths[0]);
            Assert.Contains(paths, p => p.EndsWith("openblas-pthread/libopenblas.so.0", StringComparison.Ordinal));
            Assert.Contains(paths, p => p.EndsWith("openblas-openmp/libopenblas.so.0", StringComparison.Ordinal));
        }
        else if (OperatingSystem.IsMacOS())
            Assert.Equal("/System/Library/Frameworks/Accelerate.framework/Accelerate", paths[0]);
        else if (OperatingSystem.IsWindows())
            Assert.Contains("libopenblas.dll", paths);
    }

    [Theory]
    [InlineData(1, 384, 384)]
    [InlineData(7, 64, 48)]
    [InlineData(9, 20, 33)]
    [InlineData(12, 5, 96)]
    public void MultiplyAddBiasIsTheAffineMapAndAgreesWithMultiply(int rows, int k, int n)
    {
        var rng = new SplitMix64((ulong)(rows * 7919 + k * 31 + n));
        var x = Uniform(ref rng, rows * k);
        var w = Uniform(ref rng, k * n);
        var bias = Uniform(ref rng, n);
        var y = new float[rows * n];
        Gemm.MultiplyAddBias(x, w, bias, y, rows, k, n);
        var viaGemm = new float[rows * n];
        for (int r = 0; r < rows; r++) bias.CopyTo(viaGemm.AsSpan(r * n));
        Gemm.Multiply(false, false, rows, n, k, 1, x, w, 1, viaGemm);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                double s = bias[j];
                for (int p = 0; p < k; p++) s += (double)x[r * k + p] * w[p * n + j];
                Assert.True(Math.Abs(s - y[r * n + j]) < 1e-5 * (4 + k), $"row {r} column {j}: {y[r * n + j]} vs {s}");
                Assert.True(Math.Abs(viaGemm[r * n + j] - y[r * n + j]) < 2e-6 * (4 + k), $"row {r} column {j}: Gemm {viaGemm[r * n + j]} vs {y[r * n + j]}");
            }
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyAddBias(x, w, bias.AsSpan(1), y, rows, k, n));
    }

    [Fact]
    public void TransposeSwapsRowsAndColumns()
    {
        var src = Enumerable.Range(0, 35 * 70).Select(i => (float)i).ToArray();
        var dst = new float[src.Length];
        Gemm.Transpose(src, 35, 70, dst);
        for (int i = 0; i < 35; i++)
            for (int j = 0; j < 70; j++)
                Assert.Equal(src[i * 70 + j], dst[j * 35 + i]);
    }
}

public class SplitMix64Tests
{
    [Fact]
    public void MatchesThePublishedSplitMix64Stream()
    {
        // Reference values of SplitMix64 from state 0 (Vigna's splitmix64.c): the algorithm must never change.
        var rng = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, rng.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, rng.NextUInt64());
        Assert.Equal(0x06C45D188009454FUL, rng.NextUInt64());
    }

    [Fact]
    public void SameSeedSameStreamAndStreamsDiffer()
    {
        var a = SplitMix64.For(42, 1);
        var b = SplitMix64.For(42, 1);
        var c = SplitMix64.For(42, 2);
        var d = SplitMix64.For(43, 1);
        var sa = Enumerable.Range(0, 64).Select(_ => a.Next()).ToArray();
        Assert.Equal(sa, Enumerable.Range(0, 64).Select(_ => b.Next()).ToArray());
        var sc = Enumerable.Range(0, 64).Select(_ => c.Next()).ToArray();
        var sd = Enumerable.Range(0, 64).Select(_ => d.Next()).ToArray();
        Assert.Empty(sa.Intersect(sc));
        Assert.Empty(sa.Intersect(sd));
    }

    [Fact]
    public void UniformsStayInTheUnitInterval()
    {
        var rng = new SplitMix64(3);
        double sum = 0;
        for (int i = 0; i < 100_000; i++)
        {
            double u = rng.NextDouble();
            float f = rng.NextSingle();
            Assert.InRange(u, 0, 0.9999999999999999);
            Assert.InRange(f, 0f, 0.99999994f);
            sum += u;
        }
        Assert.InRange(sum / 100_000, 0.49, 0.51);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(7)]
    [InlineData(1000)]
    public void NextIntIsUniformByChiSquare(int n)
    {
        var rng = SplitMix64.For(11, (ulong)n);
        int draws = 200 * n;
        var counts = new int[n];
        for (int i = 0; i < draws; i++) counts[rng.NextInt(n)]++;
        double expected = (double)draws / n;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        // Mean n - 1, sd sqrt(2 (n - 1)); 6 sd is a loose bound that a fixed seed passes by a wide margin.
        Assert.True(chi2 < n - 1 + 6 * Math.Sqrt(2 * (n - 1)), $"chi-square {chi2:F1} over {n} bins");
        Assert.Equal(0, new SplitMix64(5).NextInt(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SplitMix64(5).NextInt(0));
    }

    [Fact]
    public void GaussianHasMeanZeroVarianceOneAndNormalKurtosis()
    {
        var rng = SplitMix64.For(7, 0);
        const int N = 200_000;
        double sum = 0, sumSq = 0, fourth = 0;
        for (int i = 0; i < N; i++)
        {
            double g = rng.NextGaussian();
            Assert.True(double.IsFinite(g));
            sum += g; sumSq += g * g; fourth += g * g * g * g;
        }
        double mean = sum / N, variance = sumSq / N - mean * mean;
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.98, 1.02);
        Assert.InRange(fourth / N, 2.9, 3.1); // kurtosis of a normal
    }

    [Fact]
    public void ShuffleIsAPermutationAndDependsOnTheSeed()
    {
        var items = Enumerable.Range(0, 500).ToArray();
        var first = (int[])items.Clone();
        var rng = new SplitMix64(9);
        rng.Shuffle(first.AsSpan());
        Assert.Equal(items, first.Order());
        Assert.NotEqual(items, first);
        var again = (int[])items.Clone();
        var same = new SplitMix64(9);
        same.Shuffle(again.AsSpan());
        Assert.Equal(first, again);
        var other = (int[])items.Clone();
        var different = new SplitMix64(10);
        different.Shuffle(other.AsSpan());
        Assert.NotEqual(first, other);

        // Every position is equally likely for an item: item 0 lands in each of 4 slots about 1/4 of the time.
        var slots = new int[4];
        var r = new SplitMix64(1);
        for (int t = 0; t < 40_000; t++)
        {
            Span<int> four = [0, 1, 2, 3];
            r.Shuffle(four);
            slots[four.IndexOf(0)]++;
        }
        Assert.All(slots, s => Assert.InRange(s, 9_500, 10_500));
    }

    [Fact]
    public void SampleWithoutReplacementGivesDistinctSortedIndices()
    {
        var rng = SplitMix64.For(1, 2);
        var pick = rng.SampleWithoutReplacement(1000, 100);
        Assert.Equal(100, pick.Length);
        Assert.Equal(100, pick.Distinct().Count());
        Assert.Equal(pick.Order(), pick);
        Assert.All(pick, i => Assert.InRange(i, 0, 999));
        Assert.Equal(Enumerable.Range(0, 5), rng.SampleWithoutReplacement(5, 5));
        Assert.Empty(rng.SampleWithoutReplacement(5, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.SampleWithoutReplacement(5, 6));

        // Inclusion is uniform: each of 10 items is in a 3-of-10 sample 30 % of the time.
        var hits = new int[10];
        for (int t = 0; t < 20_000; t++)
            foreach (int i in rng.SampleWithoutReplacement(10, 3)) hits[i]++;
        Assert.All(hits, h => Assert.InRange(h, 5_600, 6_400));
    }
}
