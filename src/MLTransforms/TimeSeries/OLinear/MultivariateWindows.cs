using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLTransforms.TimeSeries.OLinear;

/// <summary>
/// Multivariate windows of a <see cref="WindowSet"/> in the layout the OLinear forecaster reads: one row per start
/// row, the T x N input (and H x N target) time-major, value of channel c at step i at index i N + c.
/// </summary>
internal static class MultivariateWindows
{
    /// <summary>Inputs of every start row, dense (WindowsPerChannel x T x N).</summary>
    public static float[] Inputs(WindowSet set) => Dense(set, false);

    /// <summary>Targets of every start row, dense (WindowsPerChannel x H x N).</summary>
    public static float[] Targets(WindowSet set) => Dense(set, true);

    private static float[] Dense(WindowSet set, bool targets)
    {
        ArgumentNullException.ThrowIfNull(set);
        var src = WindowSource.From(set);
        int size = (targets ? set.Horizon : set.Lookback) * set.ChannelCount;
        var result = new float[src.Count * size];
        for (int w = 0; w < src.Count; w++)
            if (targets) src.FillTarget(w, result.AsSpan(w * size, size));
            else src.FillInput(w, result.AsSpan(w * size, size));
        return result;
    }

    /// <summary>The multivariate windows as a data view: <paramref name="inputColumnName"/> <c>Vector&lt;Single, T N&gt;</c>
    /// and <paramref name="targetColumnName"/> <c>Vector&lt;Single, H N&gt;</c>.</summary>
    public static IDataView ToDataView(MLContext mlContext, WindowSet set, string inputColumnName = "Input", string targetColumnName = "Target")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var x = Inputs(set);
        var y = Targets(set);
        int tn = set.Lookback * set.ChannelCount, hn = set.Horizon * set.ChannelCount;
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Input)].ColumnName = inputColumnName;
        schema[nameof(Row.Input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, tn);
        schema[nameof(Row.Target)].ColumnName = targetColumnName;
        schema[nameof(Row.Target)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, hn);
        int count = x.Length / tn;
        return mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(w => new Row
        {
            Input = x.AsSpan(w * tn, tn).ToArray(),
            Target = y.AsSpan(w * hn, hn).ToArray(),
        }), schema);
    }

    private sealed class Row
    {
        public float[] Input { get; set; } = [];
        public float[] Target { get; set; } = [];
    }
}
