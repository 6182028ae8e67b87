using MLTransforms.TimeSeries.OLinear;

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
        var rng = new SplitMix(seed);
        net.Forward(ws, x, batch, dropout, ref rng);
        double l = 0;
        for (int i = 0; i < w.Length; i++) l += (double)w[i] * ws.Forecast[i];
        return l;
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.3f)]
    public void EveryParameterTensorMatchesFiniteDifferences(float dropout)
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
                double tol = 2e-3 + 2e-2 * Math.Abs(numeric);
                Assert.True(Math.Abs(numeric - grad[i]) <= tol,
                    $"{slice.Name}[{i - slice.Offset}] (dropout {dropout}): analytic {grad[i]}, numeric {numeric}");
            }
        }
    }
}
