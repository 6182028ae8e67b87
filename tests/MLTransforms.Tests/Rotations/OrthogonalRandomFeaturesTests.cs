using Microsoft.ML;
using MLTransforms.Rotations;
using static MLTransforms.Tests.Rotations.RotationTestData;

namespace MLTransforms.Tests.Rotations;

public class OrthogonalRandomFeaturesTests
{
    /// <summary>||G_approx - G||_F / ||G||_F for the kernel exp(-gamma ||x - y||^2 / m).</summary>
    private static double GramError(float[][] rows, float[][] features, double gamma, double m)
    {
        double num = 0, den = 0;
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows.Length; j++)
            {
                double exact = Math.Exp(-gamma * SquaredDistance(rows[i], rows[j]) / m);
                double diff = Dot(features[i], features[j]) - exact;
                num += diff * diff;
                den += exact * exact;
            }
        return Math.Sqrt(num / den);
    }

    [Fact]
    public void KernelErrorFallsWithRankAndIsAtMostRandomFourierFeatures()
    {
        var rows = OptDigits(250);
        var ml = new MLContext(1);
        var data = Load(ml, rows);
        // Fitted on 71 rows, both take the median over all 2485 pairs: the same m, the same kernel.
        var fitData = Load(ml, rows[..71]);
        int[] ranks = [64, 256, 1024];
        int[] seeds = [1, 2, 3];
        var sorf = new double[ranks.Length];
        var rff = new double[ranks.Length];
        for (int r = 0; r < ranks.Length; r++)
            foreach (int seed in seeds)
            {
                var model = ml.Transforms.OrthogonalRandomFeatures("Out", "Features", rank: ranks[r], seed: seed).Fit(fitData);
                double m = model.DistanceScale;
                sorf[r] += GramError(rows, Column(model.Transform(data), "Out"), 1, m) / seeds.Length;
                var baseline = ml.Transforms.ApproximatedKernelMap("Out", "Features", rank: ranks[r], seed: seed).Fit(fitData);
                rff[r] += GramError(rows, Column(baseline.Transform(data), "Out"), 1, m) / seeds.Length;
            }
        string table = string.Join("; ", ranks.Select((k, i) => $"rank {k}: SORF {sorf[i]:F4} RFF {rff[i]:F4}"));
        for (int r = 0; r < ranks.Length; r++)
        {
            Assert.True(sorf[r] <= rff[r], table);
            // RFF approximates the same kernel only if m is fitted as ML.NET does: its error must fall like rank^-1/2.
            Assert.True(rff[r] < 2.5 / Math.Sqrt(ranks[r]), table);
            if (r > 0) Assert.True(sorf[r] < 0.75 * sorf[r - 1], table);
        }
    }

    [Fact]
    public void FitsTheMedianSquaredDistanceOrUsesTheLiteralKernel()
    {
        var ml = new MLContext(1);
        var rows = OptDigits(60);   // <= 71 rows: every pair, as ML.NET does
        var data = Load(ml, rows);
        var pairs = new List<double>();
        for (int i = 0; i < rows.Length; i++)
            for (int j = i + 1; j < rows.Length; j++)
                pairs.Add(SquaredDistance(rows[i], rows[j]));
        pairs.Sort();
        double median = 0.5 * (pairs[pairs.Count / 2 - 1] + pairs[pairs.Count / 2]);
        var model = ml.Transforms.OrthogonalRandomFeatures("Out", "Features", rank: 512, gamma: 2).Fit(data);
        Assert.Equal(median, model.DistanceScale, 1.0);
        Assert.Equal(Math.Exp(-2 * SquaredDistance(rows[0], rows[1]) / model.DistanceScale), model.Kernel(rows[0], rows[1]), 1e-6);

        var literal = ml.Transforms.OrthogonalRandomFeatures(new OrthogonalRandomFeaturesOptions
        {
            OutputColumnName = "Out", InputColumnName = "Features", Rank = 4096, Gamma = 1f / 800, ScaleGammaByDistance = false, Seed = 4,
        }).Fit(data);
        Assert.Equal(1f, literal.DistanceScale);
        var f = Column(literal.Transform(data), "Out");
        Assert.Equal(4096, f[0].Length);
        // Unbiased: averaged over many pairs the approximation is close to exp(-||x - y||^2 / 800).
        double meanErr = 0;
        for (int i = 1; i < rows.Length; i++)
            meanErr += (Dot(f[0], f[i]) - Math.Exp(-SquaredDistance(rows[0], rows[i]) / 800)) / (rows.Length - 1);
        Assert.True(Math.Abs(meanErr) < 0.02, $"mean error {meanErr}");
    }

    [Fact]
    public void CosAndSinBasesHaveUnitNormAndMlNetLayout()
    {
        var ml = new MLContext(1);
        var rows = Gaussian(20, 10, 1);
        var data = Load(ml, rows);
        var model = ml.Transforms.OrthogonalRandomFeatures("Out", "Features", rank: 50, useCosAndSinBases: true).Fit(data);
        Assert.Equal(100, model.OutputSize);
        var f = model.Transform(rows[3]);
        // k(x, x) = 1 exactly: each (cos, sin) pair has squared norm 1 / rank.
        Assert.Equal(1.0, Dot(f, f), 1e-5);
        for (int i = 0; i < 50; i++)
            Assert.Equal(1.0 / 50, f[2 * i] * f[2 * i] + f[2 * i + 1] * f[2 * i + 1], 1e-5);
        // Three orthogonal-block features: rows of one block are orthogonal with equal norms.
        var r = model.Rotations[0];
        Assert.Equal(3, r.Blocks);
        Assert.Equal(4, model.Rotations.Count);   // ceil(50 / 16)
    }

    /// <summary>Recovers the frequency matrix W (rank x d) from cos/sin features of small multiples of the basis vectors.</summary>
    private static double[,] Frequencies(OrthogonalRandomFeaturesTransformer model, int d)
    {
        const float t = 1e-3f;
        var w = new double[model.Rank, d];
        for (int j = 0; j < d; j++)
        {
            var x = new float[d];
            x[j] = t;
            var f = model.Transform(x);
            for (int i = 0; i < model.Rank; i++)
                w[i, j] = Math.Atan2(f[2 * i + 1], f[2 * i]) / t;
        }
        return w;
    }

    [Fact]
    public void FrequenciesAreOrthogonalBlocksWithChiOrFixedNorms()
    {
        var ml = new MLContext(1);
        var data = Load(ml, Gaussian(10, 8, 1));
        OrthogonalRandomFeaturesTransformer Fit(bool fixedNorms) => ml.Transforms.OrthogonalRandomFeatures(new OrthogonalRandomFeaturesOptions
        {
            OutputColumnName = "Out", InputColumnName = "Features", Rank = 24, Gamma = 0.5f, UseCosAndSinBases = true,
            ScaleGammaByDistance = false, FixedRowNorms = fixedNorms, Seed = 3,
        }).Fit(data);
        var fixedW = Frequencies(Fit(true), 8);
        var chiW = Frequencies(Fit(false), 8);
        double Row(double[,] w, int a, int b) => Enumerable.Range(0, 8).Sum(j => w[a, j] * w[b, j]);
        // gamma = 1/2, m = 1: sigma = 1, so plain SORF rows have norm sqrt(p) = sqrt(8).
        var norms = new List<double>();
        for (int i = 0; i < 24; i++)
        {
            Assert.Equal(8, Row(fixedW, i, i), 1e-2);
            double chi = Math.Sqrt(Row(chiW, i, i));
            norms.Add(chi);
            // Same directions: the chi rows are the fixed rows rescaled.
            double cross = Enumerable.Range(0, 8).Sum(j => chiW[i, j] * fixedW[i, j]);
            Assert.Equal(1.0, cross / (chi * Math.Sqrt(8)), 1e-3);
            for (int k = 0; k < i; k++)
                if (k / 8 == i / 8)
                    Assert.True(Math.Abs(Row(fixedW, i, k)) < 0.02, $"rows {i},{k} of one block are orthogonal");
        }
        Assert.True(norms.Max() - norms.Min() > 0.5, "chi norms vary");
        Assert.InRange(norms.Average(x => x * x), 8 * 0.6, 8 * 1.4);   // E chi_p^2 = p
        Assert.Equal(3, Fit(true).Rotations.Count);
    }
}
