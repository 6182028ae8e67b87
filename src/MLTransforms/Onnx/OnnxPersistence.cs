using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Onnx;

/// <summary>
/// How every <see cref="VectorTransformer"/> saves itself into an ML.NET model zip: it hands off to an equivalent
/// ML.NET <see cref="OnnxTransformer"/> built from its own row graph
/// (<see cref="VectorTransformer.ToOnnxBytes"/> with <see cref="OnnxGraphForm.Row"/>), and that transformer writes itself.
/// </summary>
/// <remarks>
/// <para>Why: ML.NET keeps <c>ModelSaveContext</c>'s writers and <c>LoadableClass</c> registration internal, so a
/// transformer defined outside ML.NET cannot be written in a form <c>mlContext.Model.Load</c> can read back
/// (dotnet/machinelearning issues 4911 and 6839). An <see cref="OnnxTransformer"/> can, and its graph carries all the
/// fitted state. The saved zip loads with ML.NET, Microsoft.ML.OnnxTransformer and ONNX Runtime only; the process
/// that loads it needs no reference to MLTransforms.</para>
/// <para>The one visible difference: the loaded chain holds an <see cref="OnnxTransformer"/> where the saved chain held
/// the MLTransforms component. Output column name, type (<c>Vector&lt;Single, OutputSize&gt;</c>) and values (within
/// float rounding, about 1e-6) are the same. When the output column has the same name as the input column, ONNX needs
/// two distinct names, so the saved form is a small chain: the <see cref="OnnxTransformer"/> writes a temporary column
/// <c>{name}.mltransforms.tmp</c>, a column copy gives it the requested name (hiding the input, as the original
/// did) and the temporary column is dropped. The loaded <see cref="OnnxTransformer"/> scores one row per call.</para>
/// <para>Any user type derived from <see cref="VectorTransformer"/> gets this for free: implement <c>Map</c> and
/// <c>BuildOnnx</c>, and <c>mlContext.Model.Save</c> works.</para>
/// </remarks>
public static class OnnxPersistence
{
    /// <summary>Suffix of the temporary column used when input and output column names are equal.</summary>
    public const string TemporarySuffix = ".mltransforms.tmp";

    /// <summary>Builds the ML.NET transformer that stands in for <paramref name="transformer"/> in a saved model:
    /// an <see cref="OnnxTransformer"/> over its row graph (or, for equal column names, the chain described above).
    /// Dispose the result when done.</summary>
    /// <param name="transformer">A fitted component.</param>
    public static ITransformer ToOnnxTransformer(VectorTransformer transformer)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        return StandIn(transformer.InputColumnName, transformer.InputSize, transformer.OutputColumnName,
            (input, output) => transformer.ToOnnxBytes(OnnxGraphForm.Row, input, output));
    }

    /// <summary>The stand-in for any step that reads <c>Vector&lt;Single, inputSize&gt;</c> column <paramref name="input"/>
    /// and writes <paramref name="output"/>, from its row graph (<paramref name="rowGraph"/>(graph input, graph output)).</summary>
    internal static ITransformer StandIn(string input, int inputSize, string output, Func<string, string, byte[]> rowGraph)
    {
        var ml = new MLContext();
        bool sameName = input == output;
        string graphOutput = sameName ? output + TemporarySuffix : output;
        var bytes = rowGraph(input, graphOutput);
        IEstimator<ITransformer> estimator = ml.Transforms.ApplyOnnxModel([graphOutput], [input], new MemoryStream(bytes, writable: false));
        if (sameName)
            estimator = estimator
                .Append(ml.Transforms.CopyColumns(output, graphOutput))
                .Append(ml.Transforms.DropColumns(graphOutput));
        return estimator.Fit(EmptyInput(ml, input, inputSize));
    }

    /// <summary>
    /// Loads a model zip like <c>mlContext.Model.Load</c>, after checking it: the zip's directory and every entry are
    /// read and checked against the entry's stored size and CRC-32, and every ONNX graph inside (those of <see cref="OnnxTransformer"/>s) is parsed and checked, so a corrupt
    /// or truncated file fails with an <see cref="InvalidDataException"/> that names the file and, for a damaged graph,
    /// the entry; never a crash in native code. (ML.NET's own <c>Load</c> reports a truncated zip as
    /// "Failed to open a zip archive" without the path.)
    /// </summary>
    /// <param name="catalog"><c>mlContext.Model</c>.</param>
    /// <param name="path">Path of the model zip.</param>
    /// <param name="inputSchema">The input schema saved with the model.</param>
    /// <returns>The loaded model.</returns>
    public static ITransformer LoadChecked(this ModelOperationsCatalog catalog, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"Model file '{full}' does not exist.", full);
        try
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(full);
            foreach (var entry in zip.Entries)
            {
                using var content = new MemoryStream();
                using (var stream = entry.Open()) stream.CopyTo(content);
                // Deflate decodes most damaged streams into other bytes without complaint; the stored CRC-32 catches them.
                uint crc = System.IO.Hashing.Crc32.HashToUInt32(content.GetBuffer().AsSpan(0, (int)content.Length));
                if (content.Length != entry.Length || crc != entry.Crc32)
                    throw new InvalidDataException(
                        $"Entry '{entry.FullName}' of model file '{full}' is corrupt: expected {entry.Length} bytes with CRC-32 {entry.Crc32:x8}, read {content.Length} bytes with CRC-32 {crc:x8}.");
                if (entry.Name == "OnnxModel")
                    CheckOnnxEntry(content.ToArray(), $"ONNX graph '{entry.FullName}' in model file '{full}'");
            }
        }
        catch (InvalidDataException e) when (!e.Message.Contains(full, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Model file '{full}' is not a readable ML.NET model zip: {e.Message} The file is corrupt or truncated.", e);
        }
        try
        {
            return catalog.Load(full, out inputSchema);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or InvalidDataException or IOException or ArgumentException
            or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            throw new InvalidDataException($"Model file '{full}' could not be loaded by ML.NET: {e.Message}", e);
        }
    }

    /// <summary>An <see cref="OnnxTransformer"/> entry is the model's byte count (int32) followed by the model.</summary>
    private static void CheckOnnxEntry(byte[] entry, string what)
    {
        if (entry.Length < 4)
            throw new InvalidDataException($"{what} is truncated: {entry.Length} bytes.");
        int length = BitConverter.ToInt32(entry, 0);
        if (length < 0 || length != entry.Length - 4)
            throw new InvalidDataException($"{what} is truncated or corrupt: its header says {length} bytes, the entry holds {entry.Length - 4}.");
        OnnxModelCheck.Parse(entry.AsSpan(4), what);
    }

    /// <summary>The body of <see cref="VectorTransformer"/>'s <see cref="ICanSaveModel.Save"/>.</summary>
    internal static void Save(VectorTransformer transformer, ModelSaveContext ctx)
    {
        ITransformer standIn;
        try
        {
            standIn = ToOnnxTransformer(transformer);
        }
        catch (NotSupportedException e)
        {
            throw new NotSupportedException($"{transformer.GetType().Name} ('{transformer.InputColumnName}' -> '{transformer.OutputColumnName}') " +
                $"cannot be saved into an ML.NET model: it is saved as its ONNX graph, and it has none. {e.Message}", e);
        }
        Save(standIn, ctx);
    }

    /// <summary>Lets the stand-in write itself, then disposes it.</summary>
    internal static void Save(ITransformer standIn, ModelSaveContext ctx)
    {
        try
        {
            ((ICanSaveModel)standIn).Save(ctx);
        }
        finally
        {
            DisposeAll(standIn);
        }
    }

    private static void DisposeAll(ITransformer t)
    {
        if (t is IEnumerable<ITransformer> chain)
            foreach (var inner in chain) DisposeAll(inner);
        (t as IDisposable)?.Dispose();
    }

    /// <summary>An empty data view with one <c>Vector&lt;Single, size&gt;</c> column: enough to fit the ONNX scorer.</summary>
    private static IDataView EmptyInput(MLContext ml, string column, int size)
    {
        var definition = SchemaDefinition.Create(typeof(VectorRow));
        definition[0].ColumnName = column;
        definition[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        return ml.Data.LoadFromEnumerable(Array.Empty<VectorRow>(), definition);
    }

    private sealed class VectorRow
    {
        public float[] Values { get; set; } = [];
    }
}
