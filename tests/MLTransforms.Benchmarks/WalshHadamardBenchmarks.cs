using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using MLTransforms.Rotations;

namespace MLTransforms.Benchmarks;

/// <summary>
/// FWHT nanoseconds per in-place transform of d floats, one thread: the library kernel (widest SIMD path the CPU
/// has) against a plain scalar implementation, d = 2^6 .. 2^20, on 64-byte aligned data as in FFHT's benchmark
/// (an ordinary, 8-byte aligned array costs Vector512 10-30% more), next to the machine's floor for the kernel's
/// operation count (<see cref="AddThroughputFloor"/>). A subset of sizes for quick checks:
/// <c>WHT_SIZES=1024,4096,65536 dotnet run -c Release --project tests/MLTransforms.Benchmarks -- --quick --filter '*WalshHadamard*'</c>.
/// The Min column is the figure to compare on a shared machine: other processes only ever add time.
/// </summary>
[MinColumn]
public class WalshHadamardBenchmarks
{
    private float[] _buffer = [];
    private int _offset;
    private float[] _signs = [];

    /// <summary>Transform length.</summary>
    [ParamsSource(nameof(Sizes))]
    public int D { get; set; }

    /// <summary>2^6 .. 2^20, or the comma-separated list in the WHT_SIZES environment variable.</summary>
    public static IEnumerable<int> Sizes => Environment.GetEnvironmentVariable("WHT_SIZES") is { Length: > 0 } list
        ? list.Split(',').Select(int.Parse)
        : Enumerable.Range(6, 15).Select(k => 1 << k);

    [GlobalSetup]
    public unsafe void Setup()
    {
        // Pinned, so the 64-byte aligned window stays aligned.
        _buffer = GC.AllocateUninitializedArray<float>(D + 16, pinned: true);
        _offset = (int)((64 - (nuint)Unsafe.AsPointer(ref _buffer[0]) % 64) % 64 / sizeof(float));
        var rng = new Random(42);
        _signs = new float[D];
        for (int i = 0; i < D; i++)
        {
            Data[i] = (float)(rng.NextDouble() * 2 - 1);
            _signs[i] = rng.Next(2) == 0 ? -1f : 1f;
        }
    }

    private Span<float> Data => _buffer.AsSpan(_offset, D);

    // Orthonormal, so repeated transforms keep the values bounded (H/sqrt(d) is its own inverse).
    [Benchmark(Baseline = true)]
    public void Scalar() => ScalarTransform(Data, 1f / MathF.Sqrt(D));

    [Benchmark]
    public void Ours() => WalshHadamard.Transform(Data, normalize: true);

    /// <summary>Unscaled H x, what FFHT computes (its published timings are for this).</summary>
    [Benchmark]
    public void OursUnnormalized() => WalshHadamard.Transform(Data, normalize: false);

    /// <summary>
    /// The machine's floor for the Vector512 kernel: as many independent 512-bit adds as an unscaled transform of
    /// length d issues vector operations, (log2 d + 4) d / 16 (one per vector and stage, plus a shuffle and an FMA
    /// for each of the 4 stages inside a register), from registers, with no loads or stores. No kernel with that
    /// operation count can beat it.
    /// </summary>
    [Benchmark]
    public Vector512<float> AddThroughputFloor()
    {
        int ops = D < 16 ? 0 : (BitOperations.Log2((uint)D) + 4) * (D / 16);
        return IndependentAdds((ops + 11) / 12, Vector512.Create(1e-9f));
    }

    // Twelve independent chains: more than latency (4) x ports (2), so only throughput limits.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> IndependentAdds(int rounds, Vector512<float> c)
    {
        Vector512<float> a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c, a8 = c, a9 = c, a10 = c, a11 = c;
        for (int i = 0; i < rounds; i++)
        {
            a0 += c; a1 += c; a2 += c; a3 += c; a4 += c; a5 += c;
            a6 += c; a7 += c; a8 += c; a9 += c; a10 += c; a11 += c;
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    }

    /// <summary>One block of a structured rotation, H D / sqrt(d), signs and scale fused into the passes.</summary>
    [Benchmark]
    public void OursWithSigns() => WalshHadamard.Transform(Data, _signs, 1f / MathF.Sqrt(D));

    /// <summary>The textbook in-place loop: log2 d passes of d/2 butterflies, then a scaling pass.</summary>
    private static void ScalarTransform(Span<float> x, float scale)
    {
        int n = x.Length;
        for (int h = 1; h < n; h <<= 1)
            for (int i = 0; i < n; i += h << 1)
                for (int j = i; j < i + h; j++)
                {
                    float a = x[j], b = x[j + h];
                    x[j] = a + b;
                    x[j + h] = a - b;
                }
        for (int i = 0; i < n; i++)
            x[i] *= scale;
    }
}
