using BenchmarkDotNet.Attributes;
using MLTransforms.TimeSeries.OLinear;

namespace MLTransforms.Benchmarks;

/// <summary>One OLinear training step at the ETTh1 defaults (batch 32, N = 7, T = H = 96, D = 16, d_model = d_ff = 512,
/// 2 blocks): inference forward (baseline) against forward + backward with dropout. About 1.7 GFLOP forward and
/// 5.2 GFLOP per training step.</summary>
public class OLinearStepBenchmarks
{
    private OLinearNetwork _net = null!;
    private OLinearNetwork.Workspace _ws = null!;
    private float[] _x = [], _dy = [], _grad = [];

    [GlobalSetup]
    public void Setup()
    {
        var shape = new OLinearShape(7, 96, 96, 16, 512, 512, 2);
        var eye = (int n) => Enumerable.Range(0, n * n).Select(i => i / n == i % n ? 1f : 0f).ToArray();
        _net = new OLinearNetwork(shape, eye(96), eye(96));
        _net.Initialise(1);
        _ws = new OLinearNetwork.Workspace(shape, 32);
        var rng = new Random(1);
        _x = Enumerable.Range(0, 32 * 96 * 7).Select(_ => (float)rng.NextDouble()).ToArray();
        _dy = Enumerable.Range(0, 32 * 96 * 7).Select(_ => (float)rng.NextDouble() * 1e-3f).ToArray();
        _grad = new float[_net.Values.Length];
    }

    [Benchmark(Baseline = true)]
    public void Forward()
    {
        _net.Forward(_ws, _x, 32, DropoutPlan.None);
    }

    [Benchmark]
    public void TrainingStep()
    {
        _net.Forward(_ws, _x, 32, new DropoutPlan(0.2f, 1, 0));
        Array.Clear(_grad);
        _net.Backward(_ws, _dy, _grad);
    }
}
