using MLTransforms.Embeddings;

namespace MLTransforms.Tests.Compatibility;

public class PairedStatisticsTests
{
    [Fact]
    public void MergedBatchesEqualOnePassAndTwoPassFormulas()
    {
        const int dx = 9, dy = 5, n = 700;
        var rng = new Random(1);
        var x = AdapterFitTests.Gaussian(rng, n * dx).Select(v => v + 3f).ToArray(); // large mean: cancellation-prone
        var y = AdapterFitTests.Gaussian(rng, n * dy).Select(v => v * 0.5f - 1f).ToArray();
        var all = new PairedStatistics(dx, dy);
        all.AddBatch(x, y, n);
        var merged = new PairedStatistics(dx, dy);
        int[] cuts = [0, 1, 130, 131, 650, n];
        for (int c = 0; c + 1 < cuts.Length; c++)
        {
            var part = new PairedStatistics(dx, dy);
            part.AddBatch(x.AsSpan(cuts[c] * dx, (cuts[c + 1] - cuts[c]) * dx), y.AsSpan(cuts[c] * dy, (cuts[c + 1] - cuts[c]) * dy), cuts[c + 1] - cuts[c]);
            merged.Merge(part);
        }
        var single = new PairedStatistics(dx, dy);
        for (int i = 0; i < n; i++) single.Add(x.AsSpan(i * dx, dx), y.AsSpan(i * dy, dy));

        // Two-pass reference.
        var mx = new double[dx]; var my = new double[dy];
        for (int i = 0; i < n; i++) { for (int j = 0; j < dx; j++) mx[j] += x[i * dx + j] / (double)n; for (int j = 0; j < dy; j++) my[j] += y[i * dy + j] / (double)n; }
        var sxy = new double[dx * dy];
        var sxx = new double[dx * dx];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < dx; a++)
            {
                for (int b = 0; b < dy; b++) sxy[a * dy + b] += (x[i * dx + a] - mx[a]) * (y[i * dy + b] - my[b]);
                for (int b = 0; b < dx; b++) sxx[a * dx + b] += (x[i * dx + a] - mx[a]) * (x[i * dx + b] - mx[b]);
            }
        foreach (var s in new[] { all, merged, single })
        {
            Assert.Equal(n, s.Count);
            for (int j = 0; j < dx; j++) Assert.Equal(mx[j], s.MeanNew[j], 1e-9);
            for (int j = 0; j < dy; j++) Assert.Equal(my[j], s.MeanOld[j], 1e-9);
            for (int j = 0; j < sxy.Length; j++) Assert.Equal(sxy[j], s.NewOld[j], 1e-7);
            for (int j = 0; j < sxx.Length; j++) Assert.Equal(sxx[j], s.NewNew[j], 1e-7);
        }
        var swapped = all.Swapped();
        Assert.Equal(dy, swapped.NewSize);
        Assert.Equal(all.NewOld[2 * dy + 3], swapped.NewOld[3 * dx + 2]);
        Assert.Equal(all.MeanNormNew, swapped.MeanNormOld);
    }

    [Fact]
    public void BadPairsAreRejectedWithTheirRow()
    {
        var s = new PairedStatistics(3, 2);
        Assert.Contains("expected 4 x 3", Assert.Throws<ArgumentException>(() => s.AddBatch(new float[9], new float[8], 4)).Message);
        Assert.Contains("expected 3 x 2", Assert.Throws<ArgumentException>(() => s.AddBatch(new float[9], new float[8], 3)).Message);
        var nan = Assert.Throws<InvalidOperationException>(() => s.AddBatch([1, 2, 3, 1, float.NaN, 3], [1, 1, 1, 1], 2));
        Assert.Contains("pair 1", nan.Message);
        Assert.Contains("new-model", nan.Message);
        var zero = Assert.Throws<InvalidOperationException>(() => s.Add([1, 2, 3], [0, 0]));
        Assert.Contains("all zeros", zero.Message);
        Assert.Contains("old-model", zero.Message);
        Assert.Throws<ArgumentException>(() => s.Merge(new PairedStatistics(2, 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PairedStatistics(0, 3));
    }
}
