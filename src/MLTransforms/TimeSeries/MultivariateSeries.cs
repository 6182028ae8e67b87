using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.TimeSeries;

/// <summary>What to do with missing values (NaN, infinity, or an empty or NaN/NA field of a CSV file) when loading a series.</summary>
public enum MissingValueHandling
{
    /// <summary>Throw an exception naming the column and the row (the default).</summary>
    Throw,

    /// <summary>Carry the last finite value forward; leading missing values take the first finite value.</summary>
    CarryForward,
}

/// <summary>
/// A multivariate time series held in memory: equally spaced rows, one <see cref="float"/> array per channel.
/// </summary>
/// <remarks>Channels are stored channel-major so that stride-1 windows of one channel are contiguous spans.</remarks>
public sealed class MultivariateSeries
{
    private readonly float[][] _channels;

    private MultivariateSeries(string name, string[] columnNames, float[][] channels)
    {
        Name = name;
        ColumnNames = columnNames;
        _channels = channels;
        Length = channels[0].Length;
    }

    /// <summary>A name for the series (the file name for CSV input), for messages; the split protocol is chosen explicitly, never from the name.</summary>
    public string Name { get; }

    /// <summary>Names of the channels, in order.</summary>
    public IReadOnlyList<string> ColumnNames { get; }

    /// <summary>Number of channels.</summary>
    public int ChannelCount => _channels.Length;

    /// <summary>Number of rows (time steps).</summary>
    public int Length { get; }

    /// <summary>The values of channel <paramref name="channel"/>.</summary>
    public ReadOnlySpan<float> Channel(int channel) => _channels[channel];

    internal float[][] Channels => _channels;

    /// <summary>Creates a series from channel arrays (copied).</summary>
    /// <param name="columnNames">One name per channel.</param>
    /// <param name="channels">One array per channel, all the same length, finite values.</param>
    /// <param name="name">A name for the series, e.g. <c>ETTh1</c>.</param>
    /// <param name="missing">What to do with NaN or infinite values.</param>
    /// <exception cref="ArgumentException">Mismatched counts or lengths, or no rows.</exception>
    /// <exception cref="InvalidOperationException">A value is not finite and <paramref name="missing"/> is <see cref="MissingValueHandling.Throw"/>.</exception>
    public static MultivariateSeries FromChannels(IReadOnlyList<string> columnNames, IReadOnlyList<float[]> channels,
        string name = "series", MissingValueHandling missing = MissingValueHandling.Throw)
    {
        ArgumentNullException.ThrowIfNull(columnNames);
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Count == 0)
            throw new ArgumentException("A series needs at least one channel; got none.", nameof(channels));
        if (columnNames.Count != channels.Count)
            throw new ArgumentException($"Got {columnNames.Count} column names for {channels.Count} channels.", nameof(columnNames));
        int n = channels[0].Length;
        if (n == 0)
            throw new ArgumentException("A series needs at least one row; got none.", nameof(channels));
        var copy = new float[channels.Count][];
        for (int c = 0; c < channels.Count; c++)
        {
            if (channels[c].Length != n)
                throw new ArgumentException($"Channel '{columnNames[c]}' has {channels[c].Length} rows; expected {n} like channel '{columnNames[0]}'.", nameof(channels));
            copy[c] = (float[])channels[c].Clone();
            Clean(copy[c], columnNames[c], missing, null);
        }
        return new MultivariateSeries(name, columnNames.ToArray(), copy);
    }

    /// <summary>
    /// Loads a CSV file with a header line: one optional date column (named <c>date</c>, or <paramref name="dateColumn"/>)
    /// and numeric columns, rows in time order (the layout of the ETT, Weather, ILI ... benchmark files). Fields follow
    /// RFC 4180 (quoted fields may hold commas; a quoted number reads as a number) and parse culture-invariantly.
    /// </summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="missing">What to do with missing fields: empty, <c>NaN</c>, <c>NA</c>, <c>N/A</c> or <c>null</c> (any
    /// case), or infinite.</param>
    /// <param name="dateColumn">Name of the column to ignore as the time stamp; <see langword="null"/>: a column named
    /// <c>date</c> (any case) if present.</param>
    /// <exception cref="InvalidOperationException">The file is empty, has no data rows, no numeric column or duplicate
    /// column names; a row has the wrong number of fields or malformed quoting; a field is not a number (names the line,
    /// the column and the text, whatever <paramref name="missing"/> says); or a field is missing under
    /// <see cref="MissingValueHandling.Throw"/>.</exception>
    public static MultivariateSeries LoadCsv(string path, MissingValueHandling missing = MissingValueHandling.Throw, string? dateColumn = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var options = CsvHelper.CsvReaderOptions.Default with
        {
            Separator = ',',
            TrimWhitespace = true,
            TrackLineNumbers = true,
            MalformedData = CsvHelper.CsvMalformedDataHandling.Throw,
            DetectSeparatorHint = false,
        };
        using var reader = CsvHelper.CsvReader.FromFile(path, options);
        try
        {
            var names = reader.Headers.Select(h => h.Trim()).ToArray();
            if (names.Length == 0 || names.All(n => n.Length == 0))
                throw new InvalidOperationException($"CSV file '{path}' is empty: expected a header line.");
            for (int i = 0; i < names.Length; i++)
            {
                if (names[i].Length == 0)
                    throw new InvalidOperationException($"CSV file '{path}': column {i + 1} of the header has no name; expected a name for every column.");
                int first = Array.IndexOf(names, names[i]);
                if (first < i)
                    throw new InvalidOperationException($"CSV file '{path}': column name '{names[i]}' appears twice (columns {first + 1} and {i + 1}); expected unique names.");
            }
            int dateIndex = Array.FindIndex(names, n => string.Equals(n, dateColumn ?? "date", StringComparison.OrdinalIgnoreCase));
            if (dateColumn != null && dateIndex < 0)
                throw new ArgumentOutOfRangeException(nameof(dateColumn), $"CSV file '{path}' has no column '{dateColumn}'; columns: {string.Join(", ", names)}.");
            var keep = Enumerable.Range(0, names.Length).Where(i => i != dateIndex).ToArray();
            if (keep.Length == 0)
                throw new InvalidOperationException($"CSV file '{path}' has only the date column '{names[dateIndex]}': expected at least one numeric column.");
            var values = keep.Select(_ => new List<float>()).ToArray();
            var lines = new List<int>();
            while (reader.Read())
            {
                int line = (int)reader.LineNumber;
                if (reader.FieldCount != names.Length)
                    throw new InvalidOperationException($"CSV file '{path}', data row {lines.Count} (line {line}) has {reader.FieldCount} fields; expected {names.Length}.");
                for (int k = 0; k < keep.Length; k++)
                    values[k].Add(ParseField(reader.GetString(keep[k]), path, line, names[keep[k]]));
                lines.Add(line);
            }
            if (lines.Count == 0)
                throw new InvalidOperationException($"CSV file '{path}' has a header but no data rows.");
            var channels = values.Select(v => v.ToArray()).ToArray();
            var channelNames = keep.Select(i => names[i]).ToArray();
            for (int c = 0; c < channels.Length; c++)
                Clean(channels[c], channelNames[c], missing, row => $" (line {lines[row]} of '{path}')");
            return new MultivariateSeries(Path.GetFileNameWithoutExtension(path), channelNames, channels);
        }
        catch (CsvHelper.CsvFormatException e)
        {
            throw new InvalidOperationException($"CSV file '{path}' is malformed at line {e.LineNumber}: {e.Message}", e);
        }
    }

    /// <summary>A number, or NaN for a missing field; any other text is an error even when missing values are filled,
    /// since filling it would hide a wrong column or a unit suffix.</summary>
    private static float ParseField(string field, string path, int line, string column)
    {
        if (float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            return v;
        if (field.Length == 0 || MissingMarkers.Contains(field))
            return float.NaN;
        throw new InvalidOperationException(
            $"CSV file '{path}', line {line}, column '{column}' holds '{field}': expected a number (invariant culture, '.' as decimal point) or a missing value (empty, NaN, NA).");
    }

    private static readonly HashSet<string> MissingMarkers = new(StringComparer.OrdinalIgnoreCase) { "NaN", "NA", "N/A", "null" };

    /// <summary>Reads numeric scalar columns of an <see cref="IDataView"/> (rows in time order) into a series.</summary>
    /// <param name="data">The data.</param>
    /// <param name="columnNames">Columns to read (Single, Double or integer); <see langword="null"/>: every numeric scalar column.</param>
    /// <param name="name">A name for the series (e.g. <c>ETTh1</c>), used in messages.</param>
    /// <param name="missing">What to do with NaN or infinite values.</param>
    public static MultivariateSeries FromDataView(IDataView data, IEnumerable<string>? columnNames = null,
        string name = "series", MissingValueHandling missing = MissingValueHandling.Throw)
    {
        ArgumentNullException.ThrowIfNull(data);
        var cols = (columnNames?.Select(n => data.Schema.GetColumnOrNull(n)
                ?? throw new ArgumentOutOfRangeException(nameof(columnNames), $"Column '{n}' not found in the input schema."))
            ?? data.Schema.Where(c => !c.IsHidden && c.Type is NumberDataViewType)).ToArray();
        foreach (var c in cols)
            if (c.Type is not NumberDataViewType)
                throw new ArgumentOutOfRangeException(nameof(columnNames), $"Schema mismatch for input column '{c.Name}': expected a numeric scalar, got {SchemaChecks.Describe(c.Type)}.");
        if (cols.Length == 0)
            throw new ArgumentException("The data has no numeric scalar columns to read as channels.", nameof(data));
        var values = cols.Select(_ => new List<float>()).ToArray();
        using (var cursor = data.GetRowCursor(cols))
        {
            var getters = cols.Select(c => MakeGetter(cursor, c)).ToArray();
            while (cursor.MoveNext())
                for (int k = 0; k < cols.Length; k++)
                    values[k].Add(getters[k]());
        }
        if (values[0].Count == 0)
            throw new InvalidOperationException("The data has no rows: cannot build a series.");
        var channels = values.Select(v => v.ToArray()).ToArray();
        for (int c = 0; c < channels.Length; c++)
            Clean(channels[c], cols[c].Name, missing, null);
        return new MultivariateSeries(name, cols.Select(c => c.Name).ToArray(), channels);
    }

    private static Func<float> MakeGetter(DataViewRowCursor cursor, DataViewSchema.Column col)
    {
        var raw = col.Type.RawType;
        if (raw == typeof(float)) { var g = cursor.GetGetter<float>(col); return () => { float v = 0; g(ref v); return v; }; }
        if (raw == typeof(double)) { var g = cursor.GetGetter<double>(col); return () => { double v = 0; g(ref v); return (float)v; }; }
        if (raw == typeof(int)) { var g = cursor.GetGetter<int>(col); return () => { int v = 0; g(ref v); return v; }; }
        if (raw == typeof(long)) { var g = cursor.GetGetter<long>(col); return () => { long v = 0; g(ref v); return v; }; }
        if (raw == typeof(uint)) { var g = cursor.GetGetter<uint>(col); return () => { uint v = 0; g(ref v); return v; }; }
        throw new ArgumentOutOfRangeException(nameof(col), $"Schema mismatch for input column '{col.Name}': expected Single, Double or an integer, got {SchemaChecks.Describe(col.Type)}.");
    }

    private static void Clean(float[] values, string column, MissingValueHandling missing, Func<int, string>? where)
    {
        int first = Array.FindIndex(values, v => !float.IsFinite(v));
        if (first < 0) return;
        if (missing == MissingValueHandling.Throw)
            throw new InvalidOperationException(
                $"Column '{column}' holds a missing or non-finite value ({values[first]}) at row {first}" +
                (where is null ? "" : where(first)) +
                ": expected finite values. Clean the data or load with MissingValueHandling.CarryForward.");
        int firstFinite = Array.FindIndex(values, float.IsFinite);
        if (firstFinite < 0)
            throw new InvalidOperationException($"Column '{column}' holds no finite value at all: nothing to carry forward.");
        float last = values[firstFinite];
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i])) last = values[i];
            else values[i] = last;
        }
    }
}
