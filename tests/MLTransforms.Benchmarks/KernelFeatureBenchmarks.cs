using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLTransforms.Benchmarks;

/// <summary>
/// A full cursor pass over 20,000 transformed rows (d = 1024 synthetic, rank 4096): ML.NET's
/// <c>ApproximatedKernelMap</c> (Gaussian random Fourier features, dense O(rank d) per row) vs
/// <c>OrthogonalRandomFeatures</c> (SORF, O(rank log d) per row).
/// </summary>
public class KernelFeatureBenchmarks
{
    private const int Rows = 20_000, Dimension = 1024, Rank = 4096;
    private IDataView _rff = null!, _sorf = null!;

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
    }

    /// <summary>Builds the data and fits both featurizers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var ml = new MLContext(1);
        var rng = new Random(3);
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Dimension);
        var rows = Enumerable.Range(0, Rows)
            .Select(_ => new Row { Features = Enumerable.Range(0, Dimension).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray() })
            .ToArray();
        // Cache so the source costs the same (one array copy per row) for both.
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows, schema));
        _rff = ml.Transforms.ApproximatedKernelMap("Kernel", "Features", rank: Rank, seed: 1).Fit(data).Transform(data);
        _sorf = ml.Transforms.OrthogonalRandomFeatures("Kernel", "Features", rank: Rank, seed: 1).Fit(data).Transform(data);
        Drain(_rff);
        Drain(_sorf);
    }

    private static double Drain(IDataView view)
    {
        var col = view.Schema["Kernel"];
        var buffer = default(VBuffer<float>);
        double sum = 0;
        using var cursor = view.GetRowCursor([col]);
        var getter = cursor.GetGetter<VBuffer<float>>(col);
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            sum += buffer.GetValues()[0];
        }
        return sum;
    }

    /// <summary>ML.NET random Fourier features.</summary>
    [Benchmark(Baseline = true)]
    public double ApproximatedKernelMap() => Drain(_rff);

    /// <summary>Structured orthogonal random features.</summary>
    [Benchmark]
    public double OrthogonalRandomFeatures() => Drain(_sorf);
}
