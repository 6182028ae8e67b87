using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.TimeSeries;

/// <summary>How a series is cut into train, validation and test rows (the long-horizon forecasting protocol of
/// Informer / Autoformer / Time-Series-Library, used by DLinear and OLinear). Always chosen explicitly: nothing is
/// inferred from the series' name.</summary>
public enum SplitProtocol
{
    /// <summary>ETT hourly data (ETTh1, ETTh2): 12 / 4 / 4 months of 24 rows a day. Train rows [0, 8640),
    /// validation [8640 - T, 11520), test [11520 - T, 14400); later rows unused.</summary>
    EttHourly,

    /// <summary>ETT 15-minute data (ETTm1, ETTm2): the hourly boundaries times 4 (96 rows a day): train [0, 34560),
    /// validation [34560 - T, 46080), test [46080 - T, 57600).</summary>
    EttMinute,

    /// <summary>Any other data: the first <see cref="ForecastSplitOptions.TrainFraction"/> of the rows train, the last
    /// <see cref="ForecastSplitOptions.TestFraction"/> test, the rows between validation; validation and test start T
    /// rows early so their first window's input lies in the previous part.</summary>
    Ratios,
}

/// <summary>Settings of <see cref="ForecastSplit.Create(MultivariateSeries, int, int, ForecastSplitOptions)"/>.</summary>
public sealed class ForecastSplitOptions
{
    /// <summary>The protocol (default <see cref="SplitProtocol.Ratios"/>; ETT data uses the ETT protocols).</summary>
    public SplitProtocol Protocol { get; set; } = SplitProtocol.Ratios;

    /// <summary>Under <see cref="SplitProtocol.Ratios"/>: train rows = floor(TrainFraction x rows) (default 0.7).</summary>
    public double TrainFraction { get; set; } = 0.7;

    /// <summary>Under <see cref="SplitProtocol.Ratios"/>: test rows = floor(TestFraction x rows) (default 0.2); the
    /// validation part is what lies between (0.1 of the rows by default), as Time-Series-Library computes it.</summary>
    public double TestFraction { get; set; } = 0.2;

    /// <summary>Checks the settings (called by <see cref="ForecastSplit.Create(MultivariateSeries, int, int, ForecastSplitOptions)"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        SchemaChecks.CheckOption(Enum.IsDefined(Protocol), nameof(Protocol), Protocol, "EttHourly, EttMinute or Ratios");
        SchemaChecks.CheckOption(TrainFraction > 0 && TrainFraction < 1, nameof(TrainFraction), TrainFraction, "in (0, 1)");
        SchemaChecks.CheckOption(TestFraction > 0 && TrainFraction + TestFraction < 1, nameof(TestFraction), TestFraction,
            $"in (0, 1 - TrainFraction = {1 - TrainFraction:G3}) so that validation rows remain");
    }
}

/// <summary>
/// A series split for forecasting with lookback T and horizon H: every channel z-scored with the mean and standard
/// deviation of the train rows, and the stride-1 windows (input T rows, target the next H rows) of each part.
/// </summary>
public sealed class ForecastSplit
{
    private ForecastSplit(MultivariateSeries series, SplitProtocol protocol, int lookback, int horizon,
        float[][] scaled, double[] mean, double[] std, (int, int) train, (int, int) validation, (int, int) test)
    {
        Series = series;
        Protocol = protocol;
        Lookback = lookback;
        Horizon = horizon;
        Scaled = scaled;
        Mean = mean;
        StandardDeviation = std;
        Train = new WindowSet(this, "train", train.Item1, train.Item2);
        Validation = new WindowSet(this, "validation", validation.Item1, validation.Item2);
        Test = new WindowSet(this, "test", test.Item1, test.Item2);
    }

    /// <summary>The raw series.</summary>
    public MultivariateSeries Series { get; }

    /// <summary>The protocol used.</summary>
    public SplitProtocol Protocol { get; }

    /// <summary>Input window length T.</summary>
    public int Lookback { get; }

    /// <summary>Forecast length H.</summary>
    public int Horizon { get; }

    /// <summary>Per-channel mean of the train rows.</summary>
    public IReadOnlyList<double> Mean { get; }

    /// <summary>Per-channel standard deviation (ddof 0, like scikit-learn's StandardScaler) of the train rows.</summary>
    public IReadOnlyList<double> StandardDeviation { get; }

    /// <summary>Train windows.</summary>
    public WindowSet Train { get; }

    /// <summary>Validation windows.</summary>
    public WindowSet Validation { get; }

    /// <summary>Test windows.</summary>
    public WindowSet Test { get; }

    internal float[][] Scaled { get; }

    /// <summary>Number of channels.</summary>
    public int ChannelCount => Scaled.Length;

    /// <summary>The z-scored values of channel <paramref name="channel"/> (all rows).</summary>
    public ReadOnlySpan<float> ScaledChannel(int channel) => Scaled[channel];

    /// <summary>z-scores raw values of channel <paramref name="channel"/> with the train statistics (e.g. a live
    /// window before it goes to a forecaster's PredictionEngine).</summary>
    public void Scale(int channel, ReadOnlySpan<float> raw, Span<float> scaled)
    {
        CheckChannel(channel);
        if (scaled.Length < raw.Length)
            throw new ArgumentException($"Destination holds {scaled.Length} values; expected at least {raw.Length}.", nameof(scaled));
        for (int i = 0; i < raw.Length; i++) scaled[i] = (float)((raw[i] - Mean[channel]) / StandardDeviation[channel]);
    }

    /// <summary>Maps z-scored values of channel <paramref name="channel"/> (e.g. a forecast) back to the raw scale.</summary>
    public void Unscale(int channel, ReadOnlySpan<float> scaled, Span<float> raw)
    {
        CheckChannel(channel);
        if (raw.Length < scaled.Length)
            throw new ArgumentException($"Destination holds {raw.Length} values; expected at least {scaled.Length}.", nameof(raw));
        for (int i = 0; i < scaled.Length; i++) raw[i] = (float)(scaled[i] * StandardDeviation[channel] + Mean[channel]);
    }

    private void CheckChannel(int channel)
    {
        if ((uint)channel >= (uint)ChannelCount)
            throw new ArgumentOutOfRangeException(nameof(channel), channel, $"Channel must be in [0, {ChannelCount}); got {channel}.");
    }

    /// <summary>The z-scored train rows of every channel (what OrthoTrans bases are fitted on).</summary>
    public float[][] TrainChannels() => Scaled.Select(c => c[Train.RowStart..Train.RowEnd]).ToArray();

    /// <summary>Splits <paramref name="series"/> under <paramref name="protocol"/> (default fractions for
    /// <see cref="SplitProtocol.Ratios"/>), z-scores it with train statistics and defines the windows.</summary>
    /// <param name="series">The series.</param>
    /// <param name="lookback">Input length T, positive.</param>
    /// <param name="horizon">Forecast length H, positive.</param>
    /// <param name="protocol">The split protocol: <see cref="SplitProtocol.EttHourly"/> / <see cref="SplitProtocol.EttMinute"/>
    /// for the ETT data sets, <see cref="SplitProtocol.Ratios"/> otherwise.</param>
    /// <exception cref="ArgumentOutOfRangeException">T or H not positive, or the series too short for the protocol
    /// (every part must hold at least one window).</exception>
    /// <exception cref="InvalidOperationException">A channel is constant over the train rows (cannot be z-scored).</exception>
    public static ForecastSplit Create(MultivariateSeries series, int lookback, int horizon, SplitProtocol protocol)
        => Create(series, lookback, horizon, new ForecastSplitOptions { Protocol = protocol });

    /// <summary>Splits <paramref name="series"/> as <paramref name="options"/> says, z-scores it with train statistics
    /// and defines the windows.</summary>
    /// <inheritdoc cref="Create(MultivariateSeries, int, int, SplitProtocol)"/>
    /// <param name="series">The series.</param>
    /// <param name="lookback">Input length T, positive.</param>
    /// <param name="horizon">Forecast length H, positive.</param>
    /// <param name="options">Protocol and, for <see cref="SplitProtocol.Ratios"/>, the fractions.</param>
    public static ForecastSplit Create(MultivariateSeries series, int lookback, int horizon, ForecastSplitOptions options)
    {
        ArgumentNullException.ThrowIfNull(series);
        SchemaChecks.CheckOption(lookback > 0, nameof(lookback), lookback, "positive");
        SchemaChecks.CheckOption(horizon > 0, nameof(horizon), horizon, "positive");
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var protocol = options.Protocol;
        int n = series.Length;
        int trainEnd, valEnd, testEnd;
        switch (protocol)
        {
            case SplitProtocol.EttHourly:
            case SplitProtocol.EttMinute:
                int unit = protocol == SplitProtocol.EttHourly ? 1 : 4;
                (trainEnd, valEnd, testEnd) = (8640 * unit, 11520 * unit, 14400 * unit);
                if (n < testEnd)
                    throw new ArgumentOutOfRangeException(nameof(series), n,
                        $"Series '{series.Name}' has {n} rows; the {protocol} protocol needs at least {testEnd}. Use SplitProtocol.Ratios for other data.");
                break;
            default:
                trainEnd = (int)(options.TrainFraction * n);
                int testRows = (int)(options.TestFraction * n);
                valEnd = n - testRows;
                testEnd = n;
                break;
        }
        int need = lookback + horizon;
        int valStart = trainEnd - lookback, testStart = valEnd - lookback;
        if (trainEnd < need || valStart < 0 || valEnd - valStart < need || testEnd - testStart < need)
            throw new ArgumentOutOfRangeException(nameof(series), n,
                $"Series '{series.Name}' ({n} rows) is too short for lookback {lookback} + horizon {horizon} = {need} under {protocol}: " +
                $"train has {trainEnd} rows, validation {valEnd - Math.Max(valStart, 0)}, test {testEnd - testStart}; each needs at least {need}.");

        var scaled = new float[series.ChannelCount][];
        var mean = new double[series.ChannelCount];
        var std = new double[series.ChannelCount];
        for (int c = 0; c < series.ChannelCount; c++)
        {
            var x = series.Channels[c];
            double s = 0, ss = 0;
            for (int i = 0; i < trainEnd; i++) s += x[i];
            double m = s / trainEnd;
            for (int i = 0; i < trainEnd; i++) { double d = x[i] - m; ss += d * d; }
            double sd = Math.Sqrt(ss / trainEnd);
            if (!(sd > 1e-12 * Math.Max(1, Math.Abs(m))))
                throw new InvalidOperationException(
                    $"Column '{series.ColumnNames[c]}' is constant ({m}) over the {trainEnd} train rows: it cannot be z-scored. Drop the column.");
            mean[c] = m;
            std[c] = sd;
            var z = new float[testEnd];
            for (int i = 0; i < testEnd; i++) z[i] = (float)((x[i] - m) / sd);
            scaled[c] = z;
        }
        return new ForecastSplit(series, protocol, lookback, horizon, scaled, mean, std,
            (0, trainEnd), (valStart, valEnd), (testStart, testEnd));
    }
}

/// <summary>
/// The stride-1 windows of one part of a <see cref="ForecastSplit"/>: for every channel and every start row s in
/// the part, the input rows [s, s + T) and the target rows [s + T, s + T + H) of the z-scored series. Windows are
/// views into the series (nothing is copied); window w belongs to channel w / <see cref="WindowsPerChannel"/>.
/// </summary>
public sealed class WindowSet
{
    private readonly ForecastSplit _split;

    internal WindowSet(ForecastSplit split, string part, int rowStart, int rowEnd)
    {
        _split = split;
        Part = part;
        RowStart = rowStart;
        RowEnd = rowEnd;
        WindowsPerChannel = rowEnd - rowStart - split.Lookback - split.Horizon + 1;
    }

    /// <summary>"train", "validation" or "test".</summary>
    public string Part { get; }

    /// <summary>First row covered (the first input row of the first window).</summary>
    public int RowStart { get; }

    /// <summary>One past the last row covered (the last target row of the last window, plus one).</summary>
    public int RowEnd { get; }

    /// <summary>Input length T.</summary>
    public int Lookback => _split.Lookback;

    /// <summary>Target length H.</summary>
    public int Horizon => _split.Horizon;

    /// <summary>Number of channels.</summary>
    public int ChannelCount => _split.ChannelCount;

    /// <summary>Windows per channel: rows - T - H + 1.</summary>
    public int WindowsPerChannel { get; }

    /// <summary>Total number of windows (all channels).</summary>
    public int Count => WindowsPerChannel * ChannelCount;

    internal ForecastSplit Split => _split;

    /// <summary>Channel of window <paramref name="window"/>.</summary>
    public int ChannelOf(int window) => window / WindowsPerChannel;

    /// <summary>First input row of window <paramref name="window"/>.</summary>
    public int StartOf(int window) => RowStart + window % WindowsPerChannel;

    /// <summary>The input (T values) of window <paramref name="window"/>.</summary>
    public ReadOnlySpan<float> Input(int window) => _split.Scaled[ChannelOf(window)].AsSpan(StartOf(window), Lookback);

    /// <summary>The target (H values) of window <paramref name="window"/>.</summary>
    public ReadOnlySpan<float> Target(int window) => _split.Scaled[ChannelOf(window)].AsSpan(StartOf(window) + Lookback, Horizon);

    /// <summary>The rows [RowStart, RowEnd) of each channel (z-scored).</summary>
    internal ReadOnlySpan<float> Rows(int channel) => _split.Scaled[channel].AsSpan(RowStart, RowEnd - RowStart);

    /// <summary>Copies the inputs of all windows (or of <paramref name="windows"/>) into a dense row-major array (Count x T).</summary>
    public float[] InputArray(IReadOnlyList<int>? windows = null) => Dense(windows, Lookback, Input);

    /// <summary>Copies the targets of all windows (or of <paramref name="windows"/>) into a dense row-major array (Count x H).</summary>
    public float[] TargetArray(IReadOnlyList<int>? windows = null) => Dense(windows, Horizon, Target);

    /// <summary>Copies the multivariate inputs into a dense array of <see cref="WindowsPerChannel"/> windows of T x N
    /// values, time-major (the batch layout of <see cref="IForecaster"/> with N channels, e.g. OLinear).</summary>
    public float[] MultivariateInputArray() => OLinear.MultivariateWindows.Inputs(this);

    /// <summary>Copies the multivariate targets into a dense array of <see cref="WindowsPerChannel"/> windows of H x N
    /// values, time-major (the layout of <see cref="MultivariateInputArray"/>'s forecasts).</summary>
    public float[] MultivariateTargetArray() => OLinear.MultivariateWindows.Targets(this);

    private delegate ReadOnlySpan<float> Slice(int window);

    private float[] Dense(IReadOnlyList<int>? windows, int size, Slice slice)
    {
        int n = windows?.Count ?? Count;
        var result = new float[(long)n * size];
        for (int i = 0; i < n; i++)
            slice(windows?[i] ?? i).CopyTo(result.AsSpan(i * size, size));
        return result;
    }

    /// <summary>A seeded random subset of at most <paramref name="maxWindows"/> window indices, in increasing order.</summary>
    public int[] Sample(int maxWindows, int seed)
    {
        SchemaChecks.CheckOption(maxWindows > 0, nameof(maxWindows), maxWindows, "positive");
        if (maxWindows >= Count) return Enumerable.Range(0, Count).ToArray();
        var rng = Core.Numerics.SplitMix64.For(seed, stream: 0x5341_4D50UL);
        return rng.SampleWithoutReplacement(Count, maxWindows);
    }

    /// <summary>
    /// The windows as an ML.NET data view, streamed lazily: <paramref name="inputColumnName"/> is <c>Vector&lt;Single, T&gt;</c>,
    /// <paramref name="targetColumnName"/> is <c>Vector&lt;Single, H&gt;</c>, <paramref name="channelColumnName"/> the
    /// channel index (Int32).
    /// </summary>
    public IDataView ToDataView(MLContext mlContext, string inputColumnName = "Input", string targetColumnName = "Target",
        string channelColumnName = "Channel")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var schema = SchemaDefinition.Create(typeof(WindowRow));
        schema[nameof(WindowRow.Input)].ColumnName = inputColumnName;
        schema[nameof(WindowRow.Input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Lookback);
        schema[nameof(WindowRow.Target)].ColumnName = targetColumnName;
        schema[nameof(WindowRow.Target)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Horizon);
        schema[nameof(WindowRow.Channel)].ColumnName = channelColumnName;
        return mlContext.Data.LoadFromEnumerable(Rows(), schema);

        IEnumerable<WindowRow> Rows()
        {
            for (int w = 0; w < Count; w++)
                yield return new WindowRow { Input = Input(w).ToArray(), Target = Target(w).ToArray(), Channel = ChannelOf(w) };
        }
    }

    /// <summary>One row of <see cref="ToDataView"/>.</summary>
    private sealed class WindowRow
    {
        public float[] Input { get; set; } = [];
        public float[] Target { get; set; } = [];
        public int Channel { get; set; }
    }
}
