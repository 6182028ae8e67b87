using System.Globalization;
using MLTransforms.TimeSeries;

namespace MLTransforms.Tests.TimeSeries;

public class OrthoTransBasisTests
{
    private static float[][] IliTrainChannels()
    {
        var ili = MultivariateSeries.LoadCsv(TestData.Repo("data/timeseries/national_illness.csv"));
        Assert.Equal(966, ili.Length);
        int train = (int)(0.7 * ili.Length); // 676, the authors' rows
        return Enumerable.Range(0, ili.ChannelCount).Select(c => ili.Channel(c)[..train].ToArray()).ToArray();
    }

    private static float[][] ReadReference(int l) => File.ReadLines(TestData.Repo($"data/timeseries/reference/ILI_Q_{l}.csv"))
        .Select(line => line.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();

    private static double AbsCos(ReadOnlySpan<float> a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < b.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return Math.Abs(dot) / Math.Sqrt(na * nb);
    }

    [Theory]
    [InlineData(24)]
    [InlineData(36)]
    public void ColumnDiagonalRecipeReproducesTheAuthorsMatricesUpToSign(int l)
    {
        var reference = ReadReference(l);
        Assert.Equal(l, reference.Length);
        var basis = OrthoTransBasis.Fit(IliTrainChannels(), l, OrthoTransNormalization.ColumnDiagonal);
        Assert.Equal(7, basis.ChannelsUsed);
        for (int i = 0; i < l; i++)
        {
            var ours = basis.Vector(i);
            int sign = Math.Sign(System.Numerics.Tensors.TensorPrimitives.Dot(ours, reference[i]));
            for (int j = 0; j < l; j++)
                Assert.True(Math.Abs(sign * ours[j] - reference[i][j]) < 2e-4, $"L={l} row {i} col {j}: ours {sign * ours[j]}, authors {reference[i][j]}");
        }
        Assert.Equal(l, basis.Eigenvalues.Sum(), 1e-6);
        if (l == 36)
        {
            double[] top = [15.341, 9.961, 4.611, 2.099, 1.435, 0.720, 0.470, 0.281];
            for (int i = 0; i < top.Length; i++) Assert.True(Math.Abs(top[i] - basis.Eigenvalues[i]) < 1e-3, $"eigenvalue {i}: {basis.Eigenvalues[i]}, authors {top[i]}");
        }
    }

    [Theory]
    [InlineData(24)]
    [InlineData(36)]
    public void SymmetricPearsonAgreesWithTheAuthorsOnLeadingComponents(int l)
    {
        var reference = ReadReference(l);
        var basis = OrthoTransBasis.Fit(IliTrainChannels(), l);
        for (int i = 0; i < 4; i++)
            Assert.True(AbsCos(basis.Vector(i), reference[i]) > 0.99, $"L={l} component {i}: |cos| = {AbsCos(basis.Vector(i), reference[i])}");
    }

    [Fact]
    public void EtthLeadingEigenvaluesCarryMostOfTheTraceAndTheBasisIsOrthogonal()
    {
        var split = ForecastSplit.Create(Ett.ETTh1, 96, 96, SplitProtocol.EttHourly);
        var basis = OrthoTransBasis.Fit(split.TrainChannels(), 96);
        Assert.Equal(96, basis.Eigenvalues.Sum(), 1e-6);
        for (int i = 1; i < 96; i++) Assert.True(basis.Eigenvalues[i] <= basis.Eigenvalues[i - 1]);
        // Strong autocorrelation: a few components hold most of the trace (Jena weather: 56.5 + 14.5 + 6.3 of 96;
        // ETTh1 train: 56.95, 7.55, 7.41, 3.42 ..., the daily cycle a pair of about equal eigenvalues).
        Assert.True(basis.RetainedEnergy(3) > 0.7, $"top-3 energy {basis.RetainedEnergy(3)}: {string.Join(", ", basis.Eigenvalues.Take(5))}");
        Assert.True(basis.RetainedEnergy(10) > 0.85, $"top-10 energy {basis.RetainedEnergy(10)}");
        Assert.True(basis.Eigenvalues[0] > 50, $"leading eigenvalue {basis.Eigenvalues[0]}");
        var p = basis.Vectors;
        for (int i = 0; i < 96; i++)
            for (int j = 0; j < 96; j++)
            {
                double dot = System.Numerics.Tensors.TensorPrimitives.Dot(basis.Vector(i), basis.Vector(j));
                Assert.True(Math.Abs(dot - (i == j ? 1 : 0)) < 1e-5, $"<p{i}, p{j}> = {dot}");
            }
    }

    [Fact]
    public void LaggedCovarianceMatchesTheCovarianceOfExplicitWindows()
    {
        var rng = new Random(3);
        var x = new float[300];
        for (int i = 1; i < x.Length; i++) x[i] = 0.9f * x[i - 1] + (float)(rng.NextDouble() - 0.5) + 100;
        const int l = 10;
        int n = x.Length - l + 1;
        var fast = OrthoTransBasis.LaggedCovariance(x, l);
        for (int i = 0; i < l; i++)
            for (int j = 0; j < l; j++)
            {
                double mi = 0, mj = 0, c = 0;
                for (int s = 0; s < n; s++) { mi += x[s + i]; mj += x[s + j]; }
                mi /= n; mj /= n;
                for (int s = 0; s < n; s++) c += (x[s + i] - mi) * (x[s + j] - mj);
                Assert.Equal(c / (n - 1), fast[i * l + j], 1e-6);
            }
    }

    [Fact]
    public void WindowPoolFitEqualsSeriesFitWhenGivenEveryWindowWithItsChannel()
    {
        var channels = IliTrainChannels();
        const int l = 24;
        var windows = new List<float>();
        var ch = new List<int>();
        for (int c = 0; c < channels.Length; c++)
            for (int s = 0; s + l <= channels[c].Length; s++) { windows.AddRange(channels[c][s..(s + l)]); ch.Add(c); }
        var fromSeries = OrthoTransBasis.Fit(channels, l);
        var fromWindows = OrthoTransBasis.FitWindows(windows.ToArray(), l, ch.ToArray());
        for (int i = 0; i < 6; i++)
            Assert.True(AbsCos(fromSeries.Vector(i), fromWindows.Vector(i).ToArray()) > 0.9999);
    }

    [Fact]
    public void EnergyTruncationPicksTheFewestComponents()
    {
        var basis = OrthoTransBasis.Fit(IliTrainChannels(), 36);
        int k = basis.ComponentsForEnergy(0.9);
        Assert.True(basis.RetainedEnergy(k) >= 0.9);
        Assert.True(basis.RetainedEnergy(k - 1) < 0.9);
        Assert.Equal(36, basis.ComponentsForEnergy(1.0));
    }
}
