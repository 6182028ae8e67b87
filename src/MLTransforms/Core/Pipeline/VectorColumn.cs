using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLTransforms.Core.Pipeline;

/// <summary>Reads a known-size <see cref="float"/> vector column into a dense row-major matrix, for fitting.</summary>
internal static class VectorColumn
{
    /// <summary>
    /// Reads up to <paramref name="maxRows"/> rows of <paramref name="columnName"/> into a row-major array.
    /// </summary>
    /// <param name="data">The data.</param>
    /// <param name="columnName">A known-size Single vector column.</param>
    /// <param name="maxRows">Stop after this many rows.</param>
    /// <returns>The values (rows * size) and the vector size.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or of the wrong type.</exception>
    /// <exception cref="InvalidOperationException">The data is empty or holds NaN or infinity.</exception>
    public static (float[] Values, int Rows, int Size) Read(IDataView data, string columnName, long maxRows = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(data);
        var col = SchemaChecks.CheckVectorColumn(data.Schema, columnName);
        int size = ((VectorDataViewType)col.Type).Size;
        var values = new List<float>();
        var buffer = default(VBuffer<float>);
        var dense = new float[size];
        long rows = 0;
        using (var cursor = data.GetRowCursor([col]))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(col);
            while (rows < maxRows && cursor.MoveNext())
            {
                getter(ref buffer);
                buffer.CopyTo(dense);
                SchemaChecks.CheckFinite(dense, columnName, cursor.Position);
                values.AddRange(dense);
                rows++;
            }
        }
        if (rows == 0)
            throw new InvalidOperationException($"Column '{columnName}' has no rows: cannot fit on empty data.");
        return (values.ToArray(), checked((int)rows), size);
    }
}
