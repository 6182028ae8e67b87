using MLTransforms.Rotations;

namespace MLTransforms.Tests.Rotations;

public class RotationDiagnosticsTests
{
    [Fact]
    public void CoordinateLawMatchesItsDensity()
    {
        // Integrate the density (1 - t^2/p)^((p-3)/2) numerically and compare with the incomplete-beta CDF.
        foreach (int p in new[] { 3, 8, 64 })
        {
            double Density(double t) => Math.Pow(1 - t * t / p, (p - 3) / 2.0);
            double lo = -Math.Sqrt(p), total = 0, h = 2 * Math.Sqrt(p) / 200000;
            var cum = new List<(double T, double C)>();
            for (int i = 0; i < 200000; i++)
            {
                double t = lo + (i + 0.5) * h;
                total += Density(t) * h;
                if (i % 20000 == 19999) cum.Add((lo + (i + 1) * h, total));
            }
            foreach (var (t, c) in cum)
                Assert.Equal(c / total, RotationDiagnostics.UniformCoordinateCdf(t, p), 1e-4);
        }
    }

    [Fact]
    public void OneBlockStaysFarTwoBlocksDecayThreeBlocksReachTheNoise()
    {
        const int draws = 4000;
        // e1 through one block gives exactly +-1: the distance to the near-Gaussian law is ~0.34 whatever d.
        Assert.InRange(RotationDiagnostics.KolmogorovSmirnov(64, 1, draws, seed: 1), 0.32, 0.36);
        Assert.InRange(RotationDiagnostics.KolmogorovSmirnov(1024, 1, draws, seed: 1), 0.32, 0.36);
        // Two blocks: a Rademacher sum, ~0.1 at d = 16 and much closer at d = 1024.
        double two16 = RotationDiagnostics.KolmogorovSmirnov(16, 2, draws, seed: 1);
        double two1024 = RotationDiagnostics.KolmogorovSmirnov(1024, 2, draws, seed: 1);
        Assert.InRange(two16, 0.07, 0.14);
        Assert.True(two1024 < 0.4 * two16, $"two blocks: {two16} at d=16, {two1024} at d=1024");
        // Three blocks at d = 256: within sampling noise.
        double noise = RotationDiagnostics.NoiseFloor(draws);
        Assert.True(RotationDiagnostics.KolmogorovSmirnov(256, 3, draws, seed: 1) < 2.5 * noise);
    }

    [Fact]
    public void IsReproducibleAcceptsAnInputAndReportsProgress()
    {
        double a = RotationDiagnostics.KolmogorovSmirnov(32, 2, 3000, seed: 9);
        Assert.Equal(a, RotationDiagnostics.KolmogorovSmirnov(32, 2, 3000, seed: 9));
        Assert.NotEqual(a, RotationDiagnostics.KolmogorovSmirnov(32, 2, 3000, seed: 10));
        // e1 scaled gives the same law as e1.
        var e1 = new float[32];
        e1[0] = 5;
        Assert.Equal(a, RotationDiagnostics.KolmogorovSmirnov(32, 2, 3000, seed: 9, e1), 1e-6);
        double last = 0;
        var progress = new SyncProgress(v => last = Math.Max(last, v));
        RotationDiagnostics.KolmogorovSmirnov(32, 1, 3000, seed: 9, progress: progress);
        Assert.Equal(1.0, last, 1e-6);
        Assert.Throws<ArgumentException>(() => RotationDiagnostics.KolmogorovSmirnov(32, 2, 10, 1, new float[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RotationDiagnostics.KolmogorovSmirnov(32, 4, 10, 1));
    }

    private sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        private readonly object _gate = new();
        public void Report(double value) { lock (_gate) report(value); }
    }
}
