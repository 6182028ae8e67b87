using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLTransforms.Benchmarks;

/// <summary>
/// Scale: 1,000,000 rows of 256 floats generated on the fly by a streaming <see cref="IDataView"/> (nothing is
/// materialised), through a featurizer, read back with a cursor. The baseline reads the same stream with no
/// transform; ML.NET's own CopyColumns is the cost of any lazy step. Memory stays flat when the pipeline streams:
/// the Allocated column is per operation, and each benchmark process prints its peak working set.
/// </summary>
[Config(typeof(Config))]
public class StreamingBenchmarks
{
    private const int Rows = 1_000_000;
    private const int Size = 256;
    private readonly MLContext _ml = new(1);
    private IDataView _source = null!;
    private ITransformer _copy = null!, _rotation = null!, _srht = null!;
    private string _measured = "";

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
            AddColumn(new RowsPerSecondColumn());
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _source = new GeneratedRows(Rows, Size);
        _copy = _ml.Transforms.CopyColumns("Out", "Features").Fit(_source);
        _rotation = _ml.Transforms.RandomRotation("Out", "Features", seed: 1).Fit(_source);
        _srht = _ml.Transforms.StructuredRandomProjection("Out", "Features", outputDimension: 64, seed: 1).Fit(_source);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        using var process = Process.GetCurrentProcess();
        Console.WriteLine($"// Peak working set of {_measured}: {process.PeakWorkingSet64 / (1024.0 * 1024.0):F0} MB (streaming {Rows:N0} x {Size} floats = {Rows * (long)Size * 4 / (1024 * 1024):N0} MB if materialised)");
    }

    /// <summary>The stream alone: generate and read every row.</summary>
    [Benchmark(Baseline = true)]
    public double Stream() => Consume(_source, "Features", nameof(Stream));

    /// <summary>ML.NET's CopyColumns over the stream.</summary>
    [Benchmark]
    public double CopyColumns() => Consume(_copy.Transform(_source), "Out", nameof(CopyColumns));

    /// <summary>RandomRotation (two H D blocks) over the stream.</summary>
    [Benchmark]
    public double RandomRotation() => Consume(_rotation.Transform(_source), "Out", nameof(RandomRotation));

    /// <summary>SRHT to 64 dimensions over the stream.</summary>
    [Benchmark]
    public double Srht() => Consume(_srht.Transform(_source), "Out", nameof(Srht));

    private double Consume(IDataView view, string column, string measured)
    {
        _measured = measured;
        var col = view.Schema[column];
        using var cursor = view.GetRowCursor([col]);
        var getter = cursor.GetGetter<VBuffer<float>>(col);
        var value = default(VBuffer<float>);
        double sum = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            sum += value.GetValues()[0];
        }
        return sum;
    }

    /// <summary>Rows per second from the mean time of one operation (which reads all rows).</summary>
    private sealed class RowsPerSecondColumn : IColumn
    {
        public string Id => nameof(RowsPerSecondColumn);
        public string ColumnName => "Rows/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Rows streamed per second (1,000,000 rows / mean time)";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var stats = summary[benchmarkCase]?.ResultStatistics;
            return stats is null ? "NA" : (Rows / (stats.Mean * 1e-9)).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// A data view of <c>Features: Vector&lt;Single, size&gt;</c> whose rows are computed when the cursor reaches
    /// them (uniform in [-1, 1) from a generator seeded by the row), so a million rows cost no memory.
    /// </summary>
    private sealed class GeneratedRows : IDataView
    {
        private readonly long _rows;
        private readonly int _size;

        public GeneratedRows(long rows, int size)
        {
            _rows = rows;
            _size = size;
            var builder = new DataViewSchema.Builder();
            builder.AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, size));
            Schema = builder.ToSchema();
        }

        public DataViewSchema Schema { get; }

        public bool CanShuffle => false;

        public long? GetRowCount() => _rows;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

        private sealed class Cursor(GeneratedRows parent) : DataViewRowCursor
        {
            private long _position = -1;

            public override DataViewSchema Schema => parent.Schema;

            public override long Position => _position;

            public override long Batch => 0;

            public override bool MoveNext() => ++_position < parent._rows;

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

            public override bool IsColumnActive(DataViewSchema.Column column) => true;

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
                {
                    var editor = VBufferEditor.Create(ref value, parent._size);
                    var rng = new MLTransforms.Core.Numerics.SplitMix64((ulong)_position);
                    for (int i = 0; i < parent._size; i++)
                        editor.Values[i] = 2 * rng.NextSingle() - 1;
                    value = editor.Commit();
                };
                return (ValueGetter<TValue>)(Delegate)getter;
            }
        }
    }
}
