using MLTransforms.TimeSeries.OLinear;
using MLTransforms.Core.Numerics;

namespace MLTransforms.Tests.TimeSeries.OLinear;

/// <summary>Every layer's backward pass against central finite differences (float network, small sizes).</summary>
public class OLinearGradientTests
{
    internal static OLinearNetwork TinyNetwork(int seed = 3, int n = 3, int t = 8, int h = 6)
    {
        var shape = new OLinearShape(n, t, h, Embedding: 2, ModelWidth: 8, FeedForwardWidth: 10, Blocks: 2);
        var net = new OLinearNetwork(shape, RandomOrthogonal(t, seed), RandomOrthogonal(h, seed + 1));
        net.Initialise((ulong)seed);
        // Move the zero / one initialised parameters so that every path carries gradient.
        var rng = new Random(seed);
        foreach (var s in new[] { net.Gamma, net.Beta, net.Delta1, net.Delta2, net.NormG, net.NormB }
                     .Concat(net.Blocks.SelectMany(b => new[] { b.Norm1G, b.Norm1B, b.Norm2G, b.Norm2B })))
            foreach (ref var v in s.Of(net.Values)) v += (float)(0.3 * (rng.NextDouble() * 2 - 1));
        return net;
    }

    internal static float[] RandomOrthogonal(int size, int seed)
    {
        var rng = new Random(seed);
        var m = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(size, size, (_, _) => rng.NextDouble() * 2 - 1);
        var q = m.QR().Q;
        var result = new float[size * size];
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
                result[i * size + j] = (float)q[i, j];
        return result;
    }

    internal static float[] RandomWindows(int count, int t, int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * t * n];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(Math.Sin(i * 0.37) + 0.5 * (rng.NextDouble() * 2 - 1));
        return x;
    }

    private static double Loss(OLinearNetwork net, OLinearNetwork.Workspace ws, float[] x, int batch, float[] w, float dropout, ulong seed)
    {
        net.Forward(ws, x, batch, new DropoutPlan(dropout, seed, 0));
        double l = 0;
        for (int i = 0; i < w.Length; i++) l += (double)w[i] * ws.Forecast[i];
        return l;
    }

    [Theory]
    [InlineData(0f, false)]
    [InlineData(0.3f, false)]
    [InlineData(0.3f, true)]
    public void EveryParameterTensorMatchesFiniteDifferences(float dropout, bool managedGemm)
    {
        Gemm.ForceManaged = managedGemm;
        try { CheckNetwork(dropout); }
        finally { Gemm.ForceManaged = false; }
    }

    private static void CheckNetwork(float dropout)
    {
        var net = TinyNetwork();
        var s = net.Shape;
        int batch = 2;
        var x = RandomWindows(batch, s.Lookback, s.Channels, 5);
        var w = RandomWindows(1, batch * s.Horizon, s.Channels, 6);
        var ws = new OLinearNetwork.Workspace(s, batch);
        var grad = new float[net.Values.Length];
        Loss(net, ws, x, batch, w, dropout, 11);
        net.Backward(ws, w, grad);
        var pick = new Random(1);
        foreach (var slice in net.Slices)
        {
            double largest = 0;
            int checks = Math.Min(slice.Length, 12);
            for (int c = 0; c < checks; c++)
            {
                int i = slice.Offset + (slice.Length <= 12 ? c : pick.Next(slice.Length));
                float saved = net.Values[i];
                const float eps = 1e-2f;
                net.Values[i] = saved + eps;
                double lp = Loss(net, ws, x, batch, w, dropout, 11);
                net.Values[i] = saved - eps;
                double lm = Loss(net, ws, x, batch, w, dropout, 11);
                net.Values[i] = saved;
                double numeric = (lp - lm) / (2 * eps);
                largest = Math.Max(largest, Math.Abs(numeric));
                double tol = 2e-3 + 2e-2 * Math.Abs(numeric);
                Assert.True(Math.Abs(numeric - grad[i]) <= tol,
                    $"{slice.Name}[{i - slice.Offset}] (dropout {dropout}): analytic {grad[i]}, numeric {numeric}");
            }
            Assert.True(largest > 1e-3, $"{slice.Name}: no gradient reaches this tensor (largest |dL/dp| {largest})");
        }
    }

    [Fact]
    public void ABatchSplitIntoShardsGivesTheSameForecastsAndSummedGradient()
    {
        // What the trainer relies on: with per-window dropout streams, the two halves of a batch see the masks the
        // whole batch would, so their forecasts match and their gradients add up to the whole batch's.
        var net = TinyNetwork();
        var s = net.Shape;
        const int batch = 5, first = 3;
        var x = RandomWindows(batch, s.Lookback, s.Channels, 5);
        var w = RandomWindows(1, batch * s.Horizon, s.Channels, 6);
        int tn = s.Lookback * s.Channels, hn = s.Horizon * s.Channels;
        var whole = new OLinearNetwork.Workspace(s, batch);
        net.Forward(whole, x, batch, new DropoutPlan(0.3f, 99, 0));
        var gradWhole = new float[net.Values.Length];
        net.Backward(whole, w, gradWhole);

        var gradParts = new float[net.Values.Length];
        foreach (var (from, count) in new[] { (0, first), (first, batch - first) })
        {
            var ws = new OLinearNetwork.Workspace(s, count);
            net.Forward(ws, x.AsSpan(from * tn, count * tn), count, new DropoutPlan(0.3f, 99, from));
            for (int i = 0; i < count * hn; i++)
                Assert.Equal(whole.Forecast[from * hn + i], ws.Forecast[i], 1e-5);
            net.Backward(ws, w.AsSpan(from * hn, count * hn), gradParts);
        }
        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < gradWhole.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(gradWhole[i] - gradParts[i]));
            maxAbs = Math.Max(maxAbs, Math.Abs(gradWhole[i]));
        }
        Assert.True(maxDiff <= 1e-4 * maxAbs, $"max |whole - sum of shards| = {maxDiff} (largest gradient {maxAbs})");
        // Another step seed draws other masks.
        var other = new OLinearNetwork.Workspace(s, batch);
        net.Forward(other, x, batch, new DropoutPlan(0.3f, 100, 0));
        Assert.NotEqual(whole.Forecast.AsSpan(0, batch * hn).ToArray(), other.Forecast.AsSpan(0, batch * hn).ToArray());
    }

    /// <summary>Checks d(sum w . f(x))/dx of a layer kernel against central differences in float.</summary>
    private static void CheckInputGradient(float[] x, Func<float[], float[]> forward, Func<float[], float[], float[]> backward, string layer)
    {
        var y = forward(x);
        var rng = new Random(7);
        var w = y.Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var dx = backward(x, w);
        double largest = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float saved = x[i];
            const float eps = 1e-2f;
            x[i] = saved + eps; double lp = forward(x).Zip(w, (a, b) => (double)a * b).Sum();
            x[i] = saved - eps; double lm = forward(x).Zip(w, (a, b) => (double)a * b).Sum();
            x[i] = saved;
            double numeric = (lp - lm) / (2 * eps);
            largest = Math.Max(largest, Math.Abs(numeric));
            Assert.True(Math.Abs(numeric - dx[i]) <= 1e-3 + 1e-2 * Math.Abs(numeric), $"{layer} input {i}: analytic {dx[i]}, numeric {numeric}");
        }
        Assert.True(largest > 1e-2, $"{layer}: gradient vanishes");
    }

    [Fact]
    public void GeluBackwardMatchesFiniteDifferencesAndErfIsAccurate()
    {
        var x = Enumerable.Range(0, 41).Select(i => -4f + 0.2f * i + 0.013f).ToArray();
        CheckInputGradient(x, v => { var y = new float[v.Length]; Gelu.Forward(v, y); return y; },
            (v, dy) => { var dx = new float[v.Length]; Gelu.Backward(v, dy, default, dx); return dx; }, "GELU");
        foreach (double v in new[] { -3.0, -1.0, -0.3, 0.0, 0.2, 0.7, 1.5, 2.5 })
            Assert.Equal(MathNet.Numerics.SpecialFunctions.Erf(v), Gelu.Erf((float)v), 1e-6);
    }

    [Fact]
    public void LayerNormBackwardMatchesFiniteDifferences()
    {
        const int rows = 3, width = 7;
        var rng = new Random(2);
        var g = Enumerable.Range(0, width).Select(_ => (float)(0.5 + rng.NextDouble())).ToArray();
        var b = Enumerable.Range(0, width).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var x = Enumerable.Range(0, rows * width).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        float[] Forward(float[] v)
        {
            var y = new float[v.Length];
            OLinearKernels.LayerNorm(v, rows, width, g, b, y, new float[v.Length], new float[rows]);
            return y;
        }
        CheckInputGradient(x, Forward, (v, dy) =>
        {
            var y = new float[v.Length]; var hat = new float[v.Length]; var rstd = new float[rows];
            OLinearKernels.LayerNorm(v, rows, width, g, b, y, hat, rstd);
            var dx = new float[v.Length];
            OLinearKernels.LayerNormBackward(dy, hat, rstd, rows, width, g, new float[width], new float[width], dx, new float[width]);
            return dx;
        }, "LayerNorm");
        // Rows of the output have mean b and the scale g: (y - b) / g has zero mean and unit variance.
        var yv = Forward(x);
        for (int r = 0; r < rows; r++)
        {
            var z = Enumerable.Range(0, width).Select(j => (yv[r * width + j] - b[j]) / g[j]).ToArray();
            Assert.Equal(0, z.Average(), 1e-4);
            Assert.Equal(1, z.Select(v => v * v).Average(), 1e-3);
        }
    }

    [Fact]
    public void NormLinWeightsAreRowStochasticAndTheirBackwardMatchesFiniteDifferences()
    {
        const int n = 4;
        var rng = new Random(4);
        var w = Enumerable.Range(0, n * n).Select(i => (float)(rng.NextDouble() * 3 - 1.5 + (i / n == i % n ? 1 : 0))).ToArray();
        float[] Forward(float[] v) { var a = new float[n * n]; OLinearKernels.NormLinWeights(v, n, a); return a; }
        var a0 = Forward(w);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(1f, a0.Skip(i * n).Take(n).Sum(), 1e-5);
            Assert.All(a0.Skip(i * n).Take(n), v => Assert.True(v > 0));
        }
        CheckInputGradient(w, Forward, (v, da) =>
        {
            var dw = new float[n * n];
            OLinearKernels.NormLinWeightsBackward(v, Forward(v), da, n, dw);
            return dw;
        }, "NormLin weights");
    }
}
