using Microsoft.ML;
using MathNet.Numerics.LinearAlgebra;
using MLTransforms.Embeddings;

namespace MLTransforms.Tests.Compatibility;

public class AdapterFitTests
{
    internal static float[] Gaussian(Random rng, int count)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return v;
    }

    internal static Matrix<double> RandomRotation(Random rng, int d)
        => Matrix<double>.Build.DenseOfRowMajor(d, d, Gaussian(rng, d * d).Select(v => (double)v).ToArray()).QR().Q;

    /// <summary>y = x R + c (+ noise), anisotropic x with a large common mean like real embeddings.</summary>
    internal static (float[] X, float[] Y, Matrix<double> R, double[] C) Synthetic(int n, int d, int seed, double noise = 0)
    {
        var rng = new Random(seed);
        var r = RandomRotation(rng, d);
        var c = Gaussian(rng, d).Select(v => (double)v).ToArray();
        var x = Gaussian(rng, n * d);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) x[i * d + j] = x[i * d + j] * (1f + j % 5) + 2f;
        var y = new float[n * d];
        var e = Gaussian(rng, n * d);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
            {
                double s = c[j];
                for (int k = 0; k < d; k++) s += x[i * d + k] * r[k, j];
                y[i * d + j] = (float)(s + noise * e[i * d + j]);
            }
        return (x, y, r, c);
    }

    internal static PairedStatistics[] Folds(float[] x, float[] y, int dx, int dy, int folds = 5)
    {
        int n = x.Length / dx;
        var f = Enumerable.Range(0, folds).Select(_ => new PairedStatistics(dx, dy)).ToArray();
        for (int i = 0; i < n; i++) f[i % folds].Add(x.AsSpan(i * dx, dx), y.AsSpan(i * dy, dy));
        return f;
    }

    private static Matrix<double> W(EmbeddingAdapterMap m) => Matrix<double>.Build.DenseOfRowMajor(m.InputSize, m.OutputSize, m.Weights.ToArray().Select(v => (double)v).ToArray());

    [Fact]
    public void ProcrustesRecoversAKnownRotationAndIsOrthogonal()
    {
        const int d = 12;
        var (x, y, r, c) = Synthetic(300, d, 1);
        var map = EmbeddingAdapterFitter.Fit(Folds(x, y, d, d), new EmbeddingAdapterOptions { Scaling = AdapterScaling.None });
        var w = W(map);
        Assert.True((w - r).FrobeniusNorm() < 1e-4, $"|W - R| = {(w - r).FrobeniusNorm()}");
        Assert.True((w.TransposeThisAndMultiply(w) - Matrix<double>.Build.DenseIdentity(d)).FrobeniusNorm() < 1e-5);
        for (int j = 0; j < d; j++) Assert.Equal(c[j], map.Bias[j], 1e-3);
        Assert.True(map.Diagnostics.OrthogonalityError < 1e-6);
        // Exact map: both spread scalings are 1 here as well.
        var ls = EmbeddingAdapterFitter.Fit(Folds(x, y, d, d), new EmbeddingAdapterOptions { Scaling = AdapterScaling.LeastSquares });
        Assert.Equal(1, ls.Diagnostics.Scale, 1e-4);
    }

    [Fact]
    public void UncentredProcrustesLosesToCentredOnShiftedData()
    {
        const int d = 8;
        var (x, y, _, _) = Synthetic(200, d, 2);
        var centred = EmbeddingAdapterFitter.Fit(Folds(x, y, d, d), new EmbeddingAdapterOptions { Scaling = AdapterScaling.None });
        var raw = EmbeddingAdapterFitter.Fit(Folds(x, y, d, d), new EmbeddingAdapterOptions { Scaling = AdapterScaling.None, Center = false });
        Assert.True(centred.Diagnostics.TrainError < 1e-6);
        Assert.True(raw.Diagnostics.TrainError > 100 * centred.Diagnostics.TrainError + 1e-3);
        Assert.Equal(0f, raw.Bias[0]);
    }

    [Fact]
    public void RidgeEqualsADirectNormalEquationSolve()
    {
        const int dx = 10, dy = 7, n = 80;
        var rng = new Random(3);
        var x = Gaussian(rng, n * dx);
        var y = Gaussian(rng, n * dy);
        const double lambda = 0.3;
        var map = EmbeddingAdapterFitter.Fit(Folds(x, y, dx, dy), new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge, Ridge = lambda });
        var X = Matrix<double>.Build.DenseOfRowMajor(n, dx, x.Select(v => (double)v).ToArray());
        var Y = Matrix<double>.Build.DenseOfRowMajor(n, dy, y.Select(v => (double)v).ToArray());
        var mx = X.ColumnSums() / n;
        var my = Y.ColumnSums() / n;
        var Xc = X - Matrix<double>.Build.Dense(n, dx, (i, j) => mx[j]);
        var Yc = Y - Matrix<double>.Build.Dense(n, dy, (i, j) => my[j]);
        var expected = (Xc.TransposeThisAndMultiply(Xc) / n + lambda * Matrix<double>.Build.DenseIdentity(dx)).Solve(Xc.TransposeThisAndMultiply(Yc) / n);
        Assert.True((W(map) - expected).FrobeniusNorm() < 1e-5, $"diff {(W(map) - expected).FrobeniusNorm()}");
        var b = my - expected.TransposeThisAndMultiply(mx);
        for (int j = 0; j < dy; j++) Assert.Equal(b[j], map.Bias[j], 1e-4);
        Assert.Equal(lambda, map.Diagnostics.Ridge);
    }

    [Fact]
    public void CrossValidationPicksSmallRidgeForCleanDataAndLargeForNoise()
    {
        const int d = 8;
        var (x, y, _, _) = Synthetic(400, d, 4, noise: 0.001);
        var clean = EmbeddingAdapterFitter.Fit(Folds(x, y, d, d), new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge });
        var rng = new Random(5);
        var xn = Gaussian(rng, 40 * d);
        var yn = Gaussian(rng, 40 * d); // pure noise: the best linear map is (close to) zero
        var noisy = EmbeddingAdapterFitter.Fit(Folds(xn, yn, d, d), new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge });
        Assert.True(noisy.Diagnostics.Ridge > 10 * clean.Diagnostics.Ridge, $"{noisy.Diagnostics.Ridge} vs {clean.Diagnostics.Ridge}");
    }

    [Fact]
    public void LambdaOrthogonalityInterpolatesBetweenRidgeAndOrthogonal()
    {
        const int d = 10;
        var (x, y, _, _) = Synthetic(200, d, 6, noise: 0.5);
        // Distort the target scale so the affine optimum is far from orthogonal.
        for (int i = 0; i < y.Length; i++) y[i] *= (i % d) < 5 ? 0.3f : 1.7f;
        var folds = Folds(x, y, d, d);
        var ridge = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge, Ridge = 0.01 });
        var zero = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.LambdaOrthogonal, Ridge = 0.01, Lambda = 0 });
        Assert.Equal(ridge.Weights.ToArray(), zero.Weights.ToArray());
        var small = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.LambdaOrthogonal, Ridge = 0.01, Lambda = 0.01 });
        var large = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.LambdaOrthogonal, Ridge = 0.01, Lambda = 1e4 });
        Assert.True(small.Diagnostics.Converged && large.Diagnostics.Converged);
        var wl = W(large);
        double orth = (wl.TransposeThisAndMultiply(wl) - Matrix<double>.Build.DenseIdentity(d)).FrobeniusNorm();
        Assert.True(orth < 1e-2, $"||WᵀW - I|| = {orth}");
        Assert.True(ridge.Diagnostics.OrthogonalityError > small.Diagnostics.OrthogonalityError);
        Assert.True(small.Diagnostics.OrthogonalityError > large.Diagnostics.OrthogonalityError);
        Assert.True(ridge.Diagnostics.TrainError <= small.Diagnostics.TrainError + 1e-9);
        Assert.True(small.Diagnostics.TrainError <= large.Diagnostics.TrainError + 1e-9);
        // Large λ approaches the (unscaled) Procrustes rotation.
        var rot = W(EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Scaling = AdapterScaling.None }));
        Assert.True((wl - rot).FrobeniusNorm() < 0.05, $"|W - R| = {(wl - rot).FrobeniusNorm()}");
    }

    [Fact]
    public void LowRankCorrectionHasTheRequestedRank()
    {
        const int d = 10;
        var (x, y, _, _) = Synthetic(200, d, 7, noise: 0.2);
        for (int i = 0; i < y.Length; i++) y[i] *= 1 + (i % d) * 0.1f;
        var folds = Folds(x, y, d, d);
        var baseMap = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions());
        var low = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.LowRank, Rank = 2, Ridge = 1e-3 });
        var delta = W(low) - W(baseMap);
        var sv = delta.Svd(false).S;
        Assert.True(sv[2] < 1e-4 * sv[0], $"singular values {string.Join(", ", sv.Take(4))}");
        Assert.True(low.Diagnostics.TrainError < baseMap.Diagnostics.TrainError);

        // Drift-Adapter form: identity plus rank r. A target that is x plus a rank-1 drift is recovered exactly.
        var rng = new Random(11);
        var xs = Gaussian(rng, 300 * d);
        var u = Gaussian(rng, d);
        var v = Gaussian(rng, d);
        var ys = new float[xs.Length];
        for (int i = 0; i < 300; i++)
        {
            float proj = 0;
            for (int j = 0; j < d; j++) proj += xs[i * d + j] * u[j];
            for (int j = 0; j < d; j++) ys[i * d + j] = xs[i * d + j] + 0.3f * proj * v[j];
        }
        var drift = EmbeddingAdapterFitter.Fit(Folds(xs, ys, d, d), new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.LowRank, Rank = 1, Ridge = 1e-9, LowRankFromIdentity = true });
        var expected = Matrix<double>.Build.DenseIdentity(d) + 0.3 * Vector<double>.Build.DenseOfArray(u.Select(t => (double)t).ToArray()).OuterProduct(Vector<double>.Build.DenseOfArray(v.Select(t => (double)t).ToArray()));
        Assert.True((W(drift) - expected).FrobeniusNorm() < 1e-3, $"|W - (I + u vᵀ)| = {(W(drift) - expected).FrobeniusNorm()}");
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingAdapterFitter.Fit(Folds(xs, ys.Take(300 * 5).ToArray(), d, 5),
            new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.LowRank, LowRankFromIdentity = true }));
    }

    [Fact]
    public void OrthogonalExtendedAppendsNewDirectionsToTheProcrustesPart()
    {
        const int dx = 12, dy = 8;
        var rng = new Random(8);
        var x = Gaussian(rng, 150 * dx);
        var y = new float[150 * dy];
        for (int i = 0; i < 150; i++) for (int j = 0; j < dy; j++) y[i * dy + j] = x[i * dx + j] + 0.1f * x[i * dx + dy + j % 4];
        var folds = Folds(x, y, dx, dy);
        var proc = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Scaling = AdapterScaling.None });
        var ext = EmbeddingAdapterFitter.Fit(folds, new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.OrthogonalExtended, ExtraDimensions = 3, Scaling = AdapterScaling.None });
        Assert.Equal(dy + 3, ext.OutputSize);
        var we = W(ext);
        var wp = W(proc);
        Assert.True((we.SubMatrix(0, dx, 0, dy) - wp).FrobeniusNorm() < 1e-6);
        // All columns orthonormal: the extra ones are orthogonal to the old-space part.
        Assert.True((we.TransposeThisAndMultiply(we) - Matrix<double>.Build.DenseIdentity(dy + 3)).FrobeniusNorm() < 1e-5);
    }

    [Fact]
    public void UnregularisedFitWithTooFewPairsAsksForRidge()
    {
        var rng = new Random(9);
        var x = Gaussian(rng, 10 * 16);
        var y = Gaussian(rng, 10 * 16);
        var ex = Assert.Throws<InvalidOperationException>(() => EmbeddingAdapterFitter.Fit(Folds(x, y, 16, 16),
            new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge, Ridge = 0 }));
        Assert.Contains("Ridge", ex.Message);
        Assert.Contains("10 pairs", ex.Message);
        // Procrustes is fine with few pairs.
        Assert.Equal(16, EmbeddingAdapterFitter.Fit(Folds(x, y, 16, 16)).OutputSize);
    }

    [Fact]
    public void BadOptionsAreNamed()
    {
        Assert.Contains("Rank", Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingAdapterEstimator(new MLContext(1), "o", "x", "y", new() { Rank = 0 })).Message);
        Assert.Contains("Ridge", Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingAdapterEstimator(new MLContext(1), "o", "x", "y", new() { Ridge = -1 })).Message);
        Assert.Contains("Lambda", Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingAdapterEstimator(new MLContext(1), "o", "x", "y", new() { Lambda = double.NaN })).Message);
        Assert.Contains("Folds", Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingAdapterEstimator(new MLContext(1), "o", "x", "y", new() { Folds = 1 })).Message);
        Assert.Throws<InvalidOperationException>(() => EmbeddingAdapterFitter.Fit(new PairedStatistics(3, 3)));
    }

    [Fact]
    public void MapAppliesInBatchesAsOneByOne()
    {
        const int d = 48;
        var (x, y, _, _) = Synthetic(120, d, 10, noise: 0.1);
        var map = EmbeddingAdapterFitter.Fit(Folds(x, y, d, d), new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge, Ridge = 0.01 });
        var batch = new float[11 * d];
        map.Apply(x.AsSpan(0, 11 * d), batch, 11);
        for (int r = 0; r < 11; r++)
        {
            var one = map.Apply(x.AsSpan(r * d, d));
            for (int j = 0; j < d; j++)
            {
                double expected = map.Bias[j];
                for (int k = 0; k < d; k++) expected += x[r * d + k] * map.Weights[k * d + j];
                Assert.Equal(expected, one[j], 1e-3);
                Assert.Equal(one[j], batch[r * d + j], 1e-4);
            }
        }
    }
}
