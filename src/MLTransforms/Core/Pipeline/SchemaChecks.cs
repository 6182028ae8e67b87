using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLTransforms.Core.Pipeline;

/// <summary>
/// Schema and argument checks shared by every component, with ML.NET-style messages that name the column or
/// option and give the expected and the actual value.
/// </summary>
internal static class SchemaChecks
{
    /// <summary>Describes a data view type the way ML.NET's schema errors do, e.g. <c>Vector&lt;Single, 64&gt;</c>.</summary>
    /// <param name="type">The type to describe.</param>
    public static string Describe(DataViewType type) => type switch
    {
        VectorDataViewType v when v.IsKnownSize => $"Vector<{v.ItemType.RawType.Name}, {string.Join(", ", v.Dimensions)}>",
        VectorDataViewType v => $"Vector<{v.ItemType.RawType.Name}>",
        _ => type.RawType.Name,
    };

    /// <summary>
    /// Checks that <paramref name="columnName"/> exists in <paramref name="schema"/> and is a known-size vector of
    /// <see cref="float"/>, optionally of exactly <paramref name="expectedSize"/> elements.
    /// </summary>
    /// <returns>The column.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or has the wrong type or size.</exception>
    public static DataViewSchema.Column CheckVectorColumn(DataViewSchema schema, string columnName, int? expectedSize = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var col = schema.GetColumnOrNull(columnName)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{columnName}': column not found in the input schema.");
        string expected = expectedSize is int e ? $"Vector<Single, {e}>" : "known-size vector of Single";
        if (col.Type is not VectorDataViewType vt || vt.ItemType != NumberDataViewType.Single || !vt.IsKnownSize)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{columnName}': expected {expected}, got {Describe(col.Type)}.");
        if (expectedSize is int size && vt.Size != size)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{columnName}': expected {expected}, got {Describe(col.Type)}.");
        return col;
    }

    /// <summary>Checks a vector column of an estimator's <see cref="SchemaShape"/> (sizes are unknown at this stage).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or is not a known-size vector of Single.</exception>
    public static void CheckVectorColumn(SchemaShape shape, string columnName)
    {
        var found = shape.LastOrDefault(c => c.Name == columnName);
        if (found.Name is null)
            throw new ArgumentOutOfRangeException(nameof(shape), $"Schema mismatch for input column '{columnName}': column not found in the input schema.");
        var col = found;
        if (col.Kind != SchemaShape.Column.VectorKind.Vector || col.ItemType != NumberDataViewType.Single)
        {
            string got = col.Kind switch
            {
                SchemaShape.Column.VectorKind.Vector => $"Vector<{col.ItemType.RawType.Name}>",
                SchemaShape.Column.VectorKind.VariableVector => $"Vector<{col.ItemType.RawType.Name}> of unknown size",
                _ => col.ItemType.RawType.Name,
            };
            throw new ArgumentOutOfRangeException(nameof(shape), $"Schema mismatch for input column '{columnName}': expected known-size vector of Single, got {got}.");
        }
    }

    /// <summary>Throws when a row holds NaN or infinity, naming the column, the row and the slot.</summary>
    /// <param name="values">The row's values.</param>
    /// <param name="columnName">The column they came from.</param>
    /// <param name="row">The row's position in its data view.</param>
    /// <exception cref="InvalidOperationException">A value is not finite.</exception>
    public static void CheckFinite(ReadOnlySpan<float> values, string columnName, long row)
    {
        // MaxMagnitude propagates NaN and infinity, so one vectorised pass decides the common case.
        if (values.IsEmpty || float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(values)))
            return;
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new InvalidOperationException(
                    $"Column '{columnName}' holds {values[i]} at row {row}, slot {i}: expected finite values. Clean or impute the data first (NaN or infinity would spread to every output coordinate).");
    }

    /// <summary>Throws when any of the row-major rows of <paramref name="rowSize"/> values holds NaN or infinity, naming
    /// the row and the slot (one vectorised pass when all are finite).</summary>
    /// <exception cref="InvalidOperationException">A value is not finite.</exception>
    public static void CheckFiniteRows(ReadOnlySpan<float> rows, int rowSize, string columnName)
    {
        if (rows.IsEmpty || float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(rows)))
            return;
        for (int r = 0; r < rows.Length / rowSize; r++)
            CheckFinite(rows.Slice(r * rowSize, rowSize), columnName, r);
    }

    /// <summary>
    /// Throws when a transform of finite <paramref name="input"/> produced NaN or infinity (a value beyond
    /// <see cref="float.MaxValue"/> on the way), naming the output, the row, the input size and its largest magnitude.
    /// </summary>
    /// <param name="output">The transform's output.</param>
    /// <param name="input">The finite input it came from.</param>
    /// <param name="outputName">The output column (or span) name.</param>
    /// <param name="row">The row's position.</param>
    /// <exception cref="InvalidOperationException">An output value is not finite.</exception>
    public static void CheckFiniteOutput(ReadOnlySpan<float> output, ReadOnlySpan<float> input, string outputName, long row)
    {
        if (System.Numerics.Tensors.TensorPrimitives.IsFiniteAll(output))
            return;
        float largest = input.IsEmpty ? 0 : System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(input);
        throw new InvalidOperationException(
            $"Output '{outputName}' overflowed at row {row}: the input of {input.Length} values is finite but its largest magnitude is {Math.Abs(largest):G3}, " +
            $"and the transform's sums exceed the Single range (about 3.4E+38). Expected inputs small enough for the output to be finite; scale them down (e.g. normalise).");
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="optionName"/> unless <paramref name="ok"/>.</summary>
    public static void CheckOption(bool ok, string optionName, object? actual, string expected)
    {
        if (!ok)
            throw new ArgumentOutOfRangeException(optionName, actual, $"Option '{optionName}' must be {expected}; got {actual ?? "null"}.");
    }

    /// <summary>
    /// Returns <paramref name="shape"/> with a known-size Single vector column named <paramref name="outputColumnName"/>
    /// added (or replaced), shaped like the already checked <paramref name="inputColumnName"/>.
    /// </summary>
    /// <remarks>The <see cref="SchemaShape.Column"/> constructor is internal, so the column comes from ML.NET's own
    /// column-copying estimator, whose output has the input column's kind and item type.</remarks>
    public static SchemaShape WithVectorColumn(SchemaShape shape, string outputColumnName, string inputColumnName)
        => new MLContext().Transforms.CopyColumns(outputColumnName, inputColumnName).GetOutputSchema(shape);
}
