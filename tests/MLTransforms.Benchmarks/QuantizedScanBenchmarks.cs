using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using MLTransforms.Quantization;

namespace MLTransforms.Benchmarks;

/// <summary>
/// One top-10 query against N synthetic 384-d unit vectors (default N = 1,000,000; QSCAN_N overrides), one thread:
/// the quantized index's scans at 1, 2, 3, 4 and 8 bits against a float32 scan (TensorPrimitives.Dot per vector and a
/// top-10 insertion), the baseline. Vectors per second = N / mean. Plus encode throughput (10,000 vectors into an
/// index, 4 bits). Each benchmark builds only the data it needs.
/// <c>dotnet run -c Release --project tests/MLTransforms.Benchmarks -- --quick --filter '*QuantizedScan*'</c>
/// </summary>
[MinColumn]
public class QuantizedScanBenchmarks
{
    private const int Dim = 384;
    private const int EncodeCount = 10_000;
    private static readonly int N = Environment.GetEnvironmentVariable("QSCAN_N") is { Length: > 0 } n ? int.Parse(n) : 1_000_000;

    private float[] _vectors = [];
    private float[] _query = [];
    private QuantizedIndex? _index;
    private EmbeddingQuantizer? _quantizer;

    private void Data(int rows)
    {
        // Unit vectors around a shared direction (as sentence embeddings are), seeded.
        var rng = new Random(7);
        var common = new float[Dim];
        for (int i = 0; i < Dim; i++) common[i] = (float)(rng.NextDouble() - 0.5);
        TensorPrimitives.Divide(common, TensorPrimitives.Norm(common), common);
        _vectors = new float[(long)rows * Dim];
        Parallel.For(0, 16, part =>
        {
            var r = new Random(100 + part);
            for (long v = part; v < rows; v += 16)
            {
                var row = _vectors.AsSpan((int)(v * Dim), Dim);
                for (int i = 0; i < Dim; i++) row[i] = 0.7f * common[i] + (float)(r.NextDouble() - 0.5) * 0.09f;
                TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
            }
        });
        _query = _vectors.AsSpan(5 * Dim, Dim).ToArray();
        _query[0] += 0.01f;
    }

    private void Index(int bits)
    {
        Data(N);
        _quantizer = EmbeddingQuantizer.Fit(_vectors.AsSpan(0, 20_000 * Dim), 20_000, Dim, new EmbeddingQuantizerOptions { Bits = bits, Seed = 1 });
        // Encode in parallel chunks (setup only), then add the code rows in order.
        var codes = new float[(long)N * _quantizer.CodeRowSize];
        var q = _quantizer;
        Parallel.For(0, (N + 9999) / 10000, c =>
        {
            for (int v = c * 10000; v < Math.Min(N, (c + 1) * 10000); v++)
                q.EncodeRow(_vectors.AsSpan(v * Dim, Dim), codes.AsSpan(v * q.CodeRowSize, q.CodeRowSize));
        });
        _index = new QuantizedIndex(q);
        _index.AddCodes(codes);
        _vectors = [];
    }

    [GlobalSetup(Target = nameof(Float32))]
    public void SetupFloat() => Data(N);

    [GlobalSetup(Target = nameof(OneBit))]
    public void SetupOne() => Index(1);

    [GlobalSetup(Target = nameof(TwoBits))]
    public void SetupTwo() => Index(2);

    [GlobalSetup(Target = nameof(ThreeBits))]
    public void SetupThree() => Index(3);

    [GlobalSetup(Target = nameof(FourBits))]
    public void SetupFour() => Index(4);

    [GlobalSetup(Target = nameof(EightBits))]
    public void SetupEight() => Index(8);

    [GlobalSetup(Target = nameof(EncodeFourBits))]
    public void SetupEncode()
    {
        Data(EncodeCount);
        _quantizer = EmbeddingQuantizer.Fit(_vectors, EncodeCount, Dim, new EmbeddingQuantizerOptions { Bits = 4, Seed = 1 });
    }

    /// <summary>Float32 scan: a dot product per vector, top-10 kept by insertion.</summary>
    [Benchmark(Baseline = true)]
    public float Float32()
    {
        Span<float> top = stackalloc float[10];
        top.Fill(float.NegativeInfinity);
        var q = _query.AsSpan();
        for (int v = 0; v < N; v++)
        {
            float s = TensorPrimitives.Dot(q, _vectors.AsSpan(v * Dim, Dim));
            if (s <= top[9]) continue;
            int i = 9;
            while (i > 0 && top[i - 1] < s) { top[i] = top[i - 1]; i--; }
            top[i] = s;
        }
        return top[0];
    }

    /// <summary>1 bit: FastScan, four sign codes per nibble.</summary>
    [Benchmark]
    public float OneBit() => _index!.Search(_query, 10)[0].Score;

    /// <summary>2 bits: FastScan, two codes per nibble.</summary>
    [Benchmark]
    public float TwoBits() => _index!.Search(_query, 10)[0].Score;

    /// <summary>3 bits: FastScan over the codes' bit stream (additive levels).</summary>
    [Benchmark]
    public float ThreeBits() => _index!.Search(_query, 10)[0].Score;

    /// <summary>4 bits: FastScan in-register tables.</summary>
    [Benchmark]
    public float FourBits() => _index!.Search(_query, 10)[0].Score;

    /// <summary>8 bits: uint8 x int16 dot products (AVX-VNNI where present).</summary>
    [Benchmark]
    public float EightBits() => _index!.Search(_query, 10)[0].Score;

    /// <summary>Encoding 10,000 vectors into a fresh 4-bit index (divide by 10,000 for the time per vector).</summary>
    [Benchmark]
    public int EncodeFourBits()
    {
        var index = new QuantizedIndex(_quantizer!);
        index.Add(_vectors);
        return index.Count;
    }
}
