using System.Numerics;
using MLTransforms.Rotations;
using Path = MLTransforms.Rotations.WalshHadamard.SimdPath;

namespace MLTransforms.Tests.Rotations;

public class WalshHadamardTests
{
    // Kernel paths this CPU can run, by name (the enum is internal); each test forces every one of them.
    public static TheoryData<string> Paths()
    {
        var data = new TheoryData<string>();
        foreach (var p in new[] { Path.Scalar, Path.Vector128, Path.Vector256, Path.Vector512 })
            if (WalshHadamard.IsSupported(p))
                data.Add(p.ToString());
        return data;
    }

    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    private static float[] Signs(int n, int seed)
    {
        var rng = new Random(seed);
        var s = new float[n];
        for (int i = 0; i < n; i++) s[i] = rng.Next(2) == 0 ? -1f : 1f;
        return s;
    }

    /// <summary>Independent double-precision O(d log d) reference.</summary>
    private static double[] Reference(float[] x)
    {
        var y = x.Select(v => (double)v).ToArray();
        for (int h = 1; h < y.Length; h <<= 1)
            for (int i = 0; i < y.Length; i += 2 * h)
                for (int j = i; j < i + h; j++)
                    (y[j], y[j + h]) = (y[j] + y[j + h], y[j] - y[j + h]);
        return y;
    }

    private static float[] Run(float[] x, Path path, float[]? signs = null, float scale = 1f, int? rowLength = null)
    {
        var y = (float[])x.Clone();
        WalshHadamard.Run(y, rowLength ?? y.Length, signs, signs != null, scale, path);
        return y;
    }

    // The float error of one coordinate is about sqrt(log2 d) eps |x|, against a norm |Hx| = sqrt(d) |x|: 1e-6 of the
    // norm is loose for rounding yet far below any wrong sign or missing butterfly (an error of order |x|).
    private static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<float> actual, double relative = 1e-6)
    {
        Assert.Equal(expected.Count, actual.Count);
        double norm = Math.Sqrt(expected.Sum(v => v * v)) + 1e-30, worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Count; i++)
            if (Math.Abs(expected[i] - actual[i]) > worst) (worst, at) = (Math.Abs(expected[i] - actual[i]), i);
        Assert.True(worst <= relative * norm, $"coordinate {at}: expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? actual[at] : 0)} (error {worst:g3}, norm {norm:g3})");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void EqualsNaiveHadamardProductForSmallLengths(string pathName)
    {
        var path = Enum.Parse<Path>(pathName);
        for (int k = 0; k <= 10; k++)
        {
            int d = 1 << k;
            var x = Random(d, k);
            var expected = new double[d];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++)
                    expected[i] += (BitOperations.PopCount((uint)(i & j)) % 2 == 0 ? 1 : -1) * (double)x[j];
            AssertClose(expected, Run(x, path));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryPathEqualsScalarAndReferenceUpTo2To16(string pathName)
    {
        var path = Enum.Parse<Path>(pathName);
        for (int k = 0; k <= 16; k++)
        {
            var x = Random(1 << k, 100 + k);
            var y = Run(x, path);
            AssertClose(Run(x, Path.Scalar).Select(v => (double)v).ToArray(), y);
            AssertClose(Reference(x), y);
        }
    }

    [Fact]
    public void LargeTransformMatchesReference()
    {
        var x = Random(1 << 20, 7);
        var y = (float[])x.Clone();
        WalshHadamard.Transform(y);
        AssertClose(Reference(x), y);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void TransformTwiceIsLengthTimesIdentity(string pathName)
    {
        var path = Enum.Parse<Path>(pathName);
        foreach (int k in new[] { 0, 1, 3, 5, 8, 12, 14 })
        {
            int d = 1 << k;
            var x = Random(d, k);
            var y = Run(Run(x, path), path);
            AssertClose(x.Select(v => (double)v * d).ToArray(), y, 1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void OrthonormalTransformPreservesNormAndIsItsOwnInverse(string pathName)
    {
        var path = Enum.Parse<Path>(pathName);
        foreach (int k in new[] { 0, 2, 4, 7, 11, 13, 15 })
        {
            int d = 1 << k;
            var x = Random(d, 31 * k);
            float scale = 1f / MathF.Sqrt(d);
            var y = Run(x, path, scale: scale);
            double nx = Math.Sqrt(x.Sum(v => (double)v * v)), ny = Math.Sqrt(y.Sum(v => (double)v * v));
            Assert.True(Math.Abs(nx - ny) <= 1e-5 * nx, $"d = {d}: |x| = {nx}, |Hx/sqrt(d)| = {ny}");
            AssertClose(x.Select(v => (double)v).ToArray(), Run(y, path, scale: scale), 1e-5);
        }
    }

    [Fact]
    public void NormalizeScalesByInverseSquareRootOfLength()
    {
        var x = Random(512, 3);
        var y = (float[])x.Clone();
        WalshHadamard.Transform(y, normalize: true);
        AssertClose(Reference(x).Select(v => v / Math.Sqrt(512)).ToArray(), y);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void FusedFormEqualsSeparateSteps(string pathName)
    {
        var path = Enum.Parse<Path>(pathName);
        foreach (int k in new[] { 0, 1, 2, 3, 4, 6, 8, 10, 13, 16 })
        {
            int d = 1 << k;
            var x = Random(d, k + 50);
            var signs = Signs(d, k + 60);
            float scale = 0.37f;
            var separate = x.Zip(signs, (a, b) => a * b).ToArray();
            separate = Run(separate, path);
            for (int i = 0; i < d; i++) separate[i] *= scale;
            var fused = Run(x, path, signs, scale);
            Assert.Equal(separate, fused);
        }
    }

    [Fact]
    public void PublicFusedFormUsesArbitraryDiagonal()
    {
        var x = Random(256, 9);
        var diagonal = Random(256, 10);
        var y = (float[])x.Clone();
        WalshHadamard.Transform(y, diagonal, 2.5f);
        AssertClose(Reference(x.Zip(diagonal, (a, b) => a * b).ToArray()).Select(v => 2.5 * v).ToArray(), y);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void BatchedEqualsPerRow(string pathName)
    {
        var path = Enum.Parse<Path>(pathName);
        foreach (int k in new[] { 0, 2, 5, 6, 9 })
        {
            int d = 1 << k, rows = 7;
            var matrix = Random(d * rows, k);
            var signs = Signs(d, k);
            var batched = Run(matrix, path, signs, 0.5f, rowLength: d);
            var plain = Run(matrix, path, rowLength: d);
            for (int r = 0; r < rows; r++)
            {
                var row = matrix.AsSpan(r * d, d).ToArray();
                Assert.Equal(Run(row, path, signs, 0.5f), batched.AsSpan(r * d, d).ToArray());
                Assert.Equal(Run(row, path), plain.AsSpan(r * d, d).ToArray());
            }
        }
    }

    [Fact]
    public void PublicBatchedFormsMatchSingleRowForms()
    {
        var matrix = Random(64 * 5, 1);
        var signs = Signs(64, 2);
        var a = (float[])matrix.Clone();
        var b = (float[])matrix.Clone();
        WalshHadamard.TransformRows(a, 64, normalize: true);
        WalshHadamard.TransformRows(b, 64, signs, 0.25f);
        for (int r = 0; r < 5; r++)
        {
            var row = matrix.AsSpan(r * 64, 64).ToArray();
            var signed = (float[])row.Clone();
            WalshHadamard.Transform(row, normalize: true);
            WalshHadamard.Transform(signed, signs, 0.25f);
            Assert.Equal(row, a.AsSpan(r * 64, 64).ToArray());
            Assert.Equal(signed, b.AsSpan(r * 64, 64).ToArray());
        }
        WalshHadamard.TransformRows(Span<float>.Empty, 8); // no rows: nothing to do
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(1000)]
    public void LengthThatIsNotAPowerOfTwoThrows(int length)
    {
        var ex = Assert.Throws<ArgumentException>(() => WalshHadamard.Transform(new float[length]));
        Assert.Equal("data", ex.ParamName);
        Assert.Contains($"power of two in 1..2^24; got {length}", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => WalshHadamard.Transform(new float[length], new float[length], 1f));
        Assert.Contains($"got {length}", ex.Message);
    }

    [Fact]
    public void SignLengthMismatchThrows()
    {
        var ex = Assert.Throws<ArgumentException>(() => WalshHadamard.Transform(new float[16], new float[8], 1f));
        Assert.Equal("signs", ex.ParamName);
        Assert.Contains("has 8 values; expected 16", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => WalshHadamard.TransformRows(new float[32], 16, new float[32], 1f));
        Assert.Contains("has 32 values; expected 16", ex.Message);
    }

    [Fact]
    public void BadRowLengthThrows()
    {
        var ex = Assert.Throws<ArgumentException>(() => WalshHadamard.TransformRows(new float[24], 16));
        Assert.Equal("matrix", ex.ParamName);
        Assert.Contains("24 is not a whole number of rows of length 16", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => WalshHadamard.TransformRows(new float[24], 12));
        Assert.Equal("rowLength", ex.ParamName);
        Assert.Contains("got 12", ex.Message);
        Assert.Throws<ArgumentException>(() => WalshHadamard.TransformRows(new float[24], 0));
    }

    [Fact]
    public void PaddedLengthRoundsUpToPowerOfTwo()
    {
        Assert.Equal(1, WalshHadamard.PaddedLength(1));
        Assert.Equal(512, WalshHadamard.PaddedLength(300));
        Assert.Equal(1024, WalshHadamard.PaddedLength(1024));
        Assert.Throws<ArgumentOutOfRangeException>(() => WalshHadamard.PaddedLength(0));
    }
}
