using BenchmarkDotNet.Attributes;
using MLTransforms.TimeSeries.OLinear;
using MLTransforms.Core.Numerics;

namespace MLTransforms.Benchmarks;

/// <summary>One OLinear training step at the ETTh1 defaults (batch 32, N = 7, T = H = 96, D = 16, d_model = d_ff = 512,
/// 2 blocks; about 5.2 GFLOP): forward + backward over the whole batch with OpenBLAS's own threads (baseline, the
/// earlier trainer) against the trainer's two half-batch shards, one per core, with OpenBLAS's threads divided between them. The
/// inference forward pass (about 1.7 GFLOP) is listed for scale.</summary>
public class OLinearStepBenchmarks
{
    private const int Batch = 32, Half = Batch / 2;
    private OLinearNetwork _net = null!;
    private OLinearNetwork.Workspace _ws = null!;
    private OLinearNetwork.Workspace[] _shardWs = [];
    private float[] _x = [], _dy = [], _grad = [];
    private float[][] _shardGrad = [];
    private int _tn, _hn;

    [GlobalSetup(Targets = [nameof(Forward), nameof(WholeBatchStep)])]
    public void Setup()
    {
        var shape = new OLinearShape(7, 96, 96, 16, 512, 512, 2);
        var eye = (int n) => Enumerable.Range(0, n * n).Select(i => i / n == i % n ? 1f : 0f).ToArray();
        _net = new OLinearNetwork(shape, eye(96), eye(96));
        _net.Initialise(1);
        _ws = new OLinearNetwork.Workspace(shape, Batch);
        _shardWs = [new OLinearNetwork.Workspace(shape, Half), new OLinearNetwork.Workspace(shape, Half)];
        _tn = shape.Lookback * shape.Channels;
        _hn = shape.Horizon * shape.Channels;
        var rng = new Random(1);
        _x = Enumerable.Range(0, Batch * _tn).Select(_ => (float)rng.NextDouble()).ToArray();
        _dy = Enumerable.Range(0, Batch * _hn).Select(_ => (float)rng.NextDouble() * 1e-3f).ToArray();
        _grad = new float[_net.Values.Length];
        _shardGrad = [new float[_net.Values.Length], new float[_net.Values.Length]];
    }

    [Benchmark]
    public void Forward() => _net.Forward(_ws, _x, Batch, DropoutPlan.None);

    [Benchmark(Baseline = true)]
    public void WholeBatchStep()
    {
        _net.Forward(_ws, _x, Batch, new DropoutPlan(0.2f, 1, 0));
        Array.Clear(_grad);
        _net.Backward(_ws, _dy, _grad);
    }

    private Gemm.SharedThreadsScope? _blas;

    // OpenBLAS's threads stay divided between the two shards for the whole run, as in the trainer (each benchmark runs in its own process).
    [GlobalSetup(Target = nameof(ShardedStep))]
    public void SetupSharded()
    {
        Setup();
        _blas = Gemm.ShareThreads(2);
    }

    [GlobalCleanup(Target = nameof(ShardedStep))]
    public void CleanupSharded() => _blas?.Dispose();

    [Benchmark]
    public void ShardedStep()
    {
        Parallel.For(0, 2, k =>
        {
            _net.Forward(_shardWs[k], _x.AsSpan(k * Half * _tn, Half * _tn), Half, new DropoutPlan(0.2f, 1, k * Half));
            Array.Clear(_shardGrad[k]);
            _net.Backward(_shardWs[k], _dy.AsSpan(k * Half * _hn, Half * _hn), _shardGrad[k]);
        });
    }
}
