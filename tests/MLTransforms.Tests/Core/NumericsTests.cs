using MLTransforms.TimeSeries.OLinear;
using MLTransforms.Core.Numerics;

namespace MLTransforms.Tests.TimeSeries.OLinear;

public class GemmTests
{
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
            foreach (var (m, n, k) in new[] { (1, 1, 1), (5, 17, 3), (9, 33, 70), (64, 48, 130) })
            {
                var rng = new Random(m * 1000 + n * 10 + k);
                var a = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
                var b = Enumerable.Range(0, k * n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
                var c = Enumerable.Range(0, m * n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
                var expected = new double[m * n];
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double s = 0;
                        for (int p = 0; p < k; p++)
                            s += (double)(transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                        expected[i * n + j] = 0.5 * s - 2.0 * c[i * n + j];
                    }
                Gemm.Multiply(transA, transB, m, n, k, 0.5f, a, b, -2f, c);
                for (int i = 0; i < m * n; i++)
                    Assert.True(Math.Abs(expected[i] - c[i]) < 1e-4 * (1 + k), $"{m}x{n}x{k} transA={transA} transB={transB} entry {i}: {c[i]} vs {expected[i]}");
            }
        }
        finally { Gemm.ForceManaged = false; }
    }

    [Fact]
    public void ManagedOverrideIsReportedAndShortSpansAreRejected()
    {
        Gemm.ForceManaged = true;
        try { Assert.Equal(GemmBackend.Managed, Gemm.Current); }
        finally { Gemm.ForceManaged = false; }
        Assert.Equal(Gemm.Available, Gemm.Current);
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 2, 1, new float[3], new float[4], 0, new float[4]));
    }
}
