using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLTransforms.Core.Pipeline;

/// <summary>
/// The visible columns of a data view behind a wrapper ML.NET cannot see through. ML.NET's <c>ConvertToOnnx</c>
/// exports every built-in transform in the lineage of the data it is given, back to the first view that is not one of
/// its transforms; handing it this wrapper limits the export to exactly one step, with one graph input per visible
/// column named like the column.
/// </summary>
internal sealed class OpaqueDataView : IDataView
{
    private readonly IDataView _source;
    private readonly int[] _sourceIndex;

    public OpaqueDataView(IDataView source)
    {
        _source = source;
        var builder = new DataViewSchema.Builder();
        var map = new List<int>();
        foreach (var col in source.Schema)
        {
            if (col.IsHidden) continue;
            builder.AddColumn(col.Name, col.Type, col.Annotations);
            map.Add(col.Index);
        }
        Schema = builder.ToSchema();
        _sourceIndex = map.ToArray();
    }

    public DataViewSchema Schema { get; }
    public bool CanShuffle => false;
    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(this, _source.GetRowCursor(columnsNeeded.Select(c => _source.Schema[_sourceIndex[c.Index]])));

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(OpaqueDataView parent, DataViewRowCursor source) : DataViewRowCursor
    {
        public override DataViewSchema Schema => parent.Schema;
        public override long Position => source.Position;
        public override long Batch => source.Batch;
        public override bool MoveNext() => source.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => source.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => source.IsColumnActive(source.Schema[parent._sourceIndex[column.Index]]);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => source.GetGetter<TValue>(source.Schema[parent._sourceIndex[column.Index]]);

        protected override void Dispose(bool disposing)
        {
            if (disposing) source.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>A data view with a given schema and no rows: enough for exports that only need the schema.</summary>
internal sealed class EmptyDataView(DataViewSchema schema) : IDataView
{
    public DataViewSchema Schema { get; } = schema;
    public bool CanShuffle => true;
    public long? GetRowCount() => 0;
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(Schema);
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(Schema)];

    private sealed class Cursor(DataViewSchema schema) : DataViewRowCursor
    {
        public override DataViewSchema Schema => schema;
        public override long Position => -1;
        public override long Batch => 0;
        public override bool MoveNext() => false;
        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => throw new InvalidOperationException("An empty data view has no rows.");
        public override bool IsColumnActive(DataViewSchema.Column column) => true;
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => (ref TValue value) => throw new InvalidOperationException("An empty data view has no rows.");
    }
}
