using Microsoft.ML;
using MLTransforms.Rotations;
using static MLTransforms.Tests.Rotations.RotationTestData;
using MLTransforms.Core.Numerics;

namespace MLTransforms.Tests.Rotations;

public class StructuredRotationTests
{
    [Theory]
    [InlineData(100, 1)]
    [InlineData(100, 2)]
    [InlineData(256, 3)]
    [InlineData(1000, 2)]
    public void PreservesNormsAndInnerProductsAndInvertsExactly(int d, int blocks)
    {
        var r = new StructuredRotation(d, blocks, seed: 7);
        var xs = Gaussian(6, d, seed: d + blocks);
        var ys = xs.Select(x => { var y = new float[r.PaddedDimension]; r.Apply(x, y); return y; }).ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            double norm = Dot(xs[i], xs[i]);
            Assert.True(Math.Abs(Dot(ys[i], ys[i]) - norm) / norm < 1e-5, $"norm of row {i}");
            for (int j = 0; j < i; j++)
            {
                double scale = Math.Sqrt(norm * Dot(xs[j], xs[j]));
                Assert.True(Math.Abs(Dot(ys[i], ys[j]) - Dot(xs[i], xs[j])) / scale < 1e-5, $"inner product {i},{j}");
            }
            var back = new float[d];
            r.ApplyInverse(ys[i], back);
            double err = Math.Sqrt(SquaredDistance(back, xs[i]) / norm);
            Assert.True(err < 1e-5, $"inverse error {err}");
            var full = new float[r.PaddedDimension];
            r.ApplyInverse(ys[i], full);
            Assert.True(full.Skip(d).All(v => Math.Abs(v) < 1e-5 * Math.Sqrt(norm)), "padding coordinates come back as zero");
        }
    }

    [Theory]
    [InlineData(16, 1)]
    [InlineData(16, 2)]
    [InlineData(12, 3)]
    public void IsOrthogonalAndEqualsTheDenseProduct(int d, int blocks)
    {
        var r = new StructuredRotation(d, blocks, seed: 3);
        int p = r.PaddedDimension;
        // Columns of R from the basis vectors.
        var cols = Enumerable.Range(0, p).Select(i => { var e = new float[p]; e[i] = 1; r.ApplyInPlace(e); return e; }).ToArray();
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++)
                Assert.True(Math.Abs(Dot(cols[i], cols[j]) - (i == j ? 1 : 0)) < 1e-5, $"R^T R at {i},{j}");

        // Dense reference: R = prod_b (H / sqrt p) diag(s_b), with H_ij = (-1)^popcount(i & j).
        var dense = new double[p, p];
        for (int i = 0; i < p; i++) dense[i, i] = 1;
        for (int b = 0; b < blocks; b++)
        {
            var s = r.Signs(b);
            var next = new double[p, p];
            for (int i = 0; i < p; i++)
                for (int j = 0; j < p; j++)
                {
                    double sum = 0;
                    for (int k = 0; k < p; k++)
                        sum += ((System.Numerics.BitOperations.PopCount((uint)(i & k)) & 1) == 0 ? 1 : -1) * s[k] * dense[k, j];
                    next[i, j] = sum / Math.Sqrt(p);
                }
            dense = next;
        }
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++)
                Assert.True(Math.Abs(cols[j][i] - dense[i, j]) < 1e-5, $"R at {i},{j}");
    }

    [Fact]
    public void SeedsDecideTheRotationAndAreStableAcrossMachines()
    {
        var a = new StructuredRotation(64, 2, seed: 1);
        var b = new StructuredRotation(64, 2, seed: 1);
        var c = new StructuredRotation(64, 2, seed: 2);
        Assert.Equal(a.Signs(0).ToArray(), b.Signs(0).ToArray());
        Assert.Equal(a.Signs(1).ToArray(), b.Signs(1).ToArray());
        Assert.NotEqual(a.Signs(0).ToArray(), c.Signs(0).ToArray());
        Assert.NotEqual(a.Signs(0).ToArray(), a.Signs(1).ToArray());
        var x = Gaussian(1, 64, 5)[0];
        float[] ya = new float[64], yc = new float[64];
        a.Apply(x, ya);
        c.Apply(x, yc);
        Assert.True(SquaredDistance(ya, yc) > 1e-2);
        // SplitMix64 is fully specified: these signs must never change (models and golden files depend on them).
        Assert.Equal([1f, -1f, 1f, -1f, 1f, -1f, -1f, -1f], new StructuredRotation(16, 1, seed: 42).Signs(0)[..8].ToArray());
    }

    [Fact]
    public void WithoutASeedTheSeedComesFromTheEnvironmentOrIsFresh()
    {
        // Drawn from a host of the context, as ML.NET components draw theirs: equal contexts, equal rotations.
        var a = new StructuredRotation(64, 2, env: new MLContext(seed: 3));
        var b = new StructuredRotation(64, 2, env: new MLContext(seed: 3));
        Assert.Equal(a.Seed, b.Seed);
        Assert.Equal(a.Signs(1).ToArray(), b.Signs(1).ToArray());
        Assert.Equal(a.Signs(0).ToArray(), new StructuredRotation(64, 2, seed: a.Seed).Signs(0).ToArray());
        Assert.NotEqual(a.Seed, new StructuredRotation(64, 2, env: new MLContext(seed: 4)).Seed);
        // No environment: fresh randomness (two draws of 31 bits agree with probability 2^-31).
        Assert.NotEqual(new StructuredRotation(64).Seed, new StructuredRotation(64).Seed);
        // An explicit seed wins over the environment.
        Assert.Equal(9, new StructuredRotation(64, seed: 9, env: new MLContext(seed: 3)).Seed);
    }

    [Fact]
    public void RejectsBadArguments()
    {
        Assert.Contains("blocks", Assert.Throws<ArgumentOutOfRangeException>(() => new StructuredRotation(8, 0)).Message);
        Assert.Contains("blocks", Assert.Throws<ArgumentOutOfRangeException>(() => new StructuredRotation(8, 4)).Message);
        Assert.Contains("dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new StructuredRotation(0)).Message);
        var r = new StructuredRotation(10);
        Assert.Throws<ArgumentException>(() => r.Apply(new float[9], new float[16]));
        Assert.Throws<ArgumentException>(() => r.Apply(new float[10], new float[10]));
        Assert.Throws<ArgumentException>(() => r.ApplyInverse(new float[16], new float[12]));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Signs(2).ToArray());
    }
}
