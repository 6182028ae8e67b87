using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using MLTransforms.TimeSeries;
using Spectre.Console;

namespace MLTransforms.Samples.Scenarios;

/// <summary>
/// Long-horizon forecasting under the standard protocol: OrthoTrans ridge, OrthoTrans ridge + LightGBM residual
/// corrections and the repeat-last-value baseline, next to published figures.
/// </summary>
public sealed class ForecastScenario : IScenario
{
    /// <summary>The sample's choice of split protocol for the data sets it ships: the ETT protocols for ETTh*/ETTm*,
    /// ratios for the rest.</summary>
    internal static SplitProtocol ProtocolFor(string dataset) =>
        dataset.StartsWith("ETTh", StringComparison.OrdinalIgnoreCase) ? SplitProtocol.EttHourly
        : dataset.StartsWith("ETTm", StringComparison.OrdinalIgnoreCase) ? SplitProtocol.EttMinute
        : SplitProtocol.Ratios;

    /// <inheritdoc/>
    public string Name => "forecast";

    /// <inheritdoc/>
    public string Description => "OrthoTrans forecasters on ETTh1 (--data csv --lookback 96|auto --horizons 96,192,336,720 --nonlinear-all --no-nonlinear --no-plain --normalization none|subtractmean|subtractmeankeeplevel --shared-penalty --olinear [--olinear-epochs N] --json path)";

    /// <inheritdoc/>
    public int Order => 40;

    // Published z-scored MSE / MAE at T = 96 (OLinear arXiv 2505.08550 Table; DLinear as reported there).
    private static readonly Dictionary<(string Data, string Model, int H), (double Mse, double? Mae)> Published = new()
    {
        [("ETTh1", "OLinear", 96)] = (.360, .382), [("ETTh1", "OLinear", 192)] = (.416, .414),
        [("ETTh1", "OLinear", 336)] = (.457, .438), [("ETTh1", "OLinear", 720)] = (.463, .462),
        [("ETTh1", "DLinear", 96)] = (.386, .400), [("ETTh1", "DLinear", 192)] = (.437, null),
        [("ETTh1", "DLinear", 336)] = (.481, null), [("ETTh1", "DLinear", 720)] = (.519, null),
        [("ETTh1", "RepeatLast", 96)] = (1.294, .713),
        [("ETTm1", "OLinear", 96)] = (.302, null), [("ETTm1", "OLinear", 192)] = (.357, null),
        [("ETTm1", "OLinear", 336)] = (.387, null), [("ETTm1", "OLinear", 720)] = (.452, null),
    };

    private sealed record Row(string forecaster, int lookback, int horizon, double mse, double mae, double trainSeconds);

    /// <inheritdoc/>
    public Task<IReadOnlyList<ResultRow>> RunAsync(ScenarioContext context, string[] args)
    {
        string data = context.Data("timeseries/ETTh1.csv");
        int[] lookbacks = [96];
        int[] horizons = [96, 192, 336, 720];
        string? json = null, plotPath = null;
        bool nonlinear = true, nonlinearAll = false, plainRidge = true;
        double[] shapes = new OrthoRidgeOptions().PenaltyShapes;
        var bases = new Dictionary<int, OrthoTransBasis>(); // train rows do not depend on T or H: fit each length once
        var normalization = WindowNormalization.SubtractMean;
        bool perCoefficient = true, selectLookback = false;
        int trees = 40, maxWindows = 10000, components = 4;
        bool olinear = false;
        int? olinearEpochs = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option {args[i]} needs a value.");
            switch (args[i])
            {
                case "--data": data = Next(); break;
                case "--lookback":
                    string v = Next();
                    if (v == "auto") selectLookback = true;
                    else lookbacks = ParseList(v, "--lookback");
                    break;
                case "--horizons": horizons = ParseList(Next(), "--horizons"); break;
                case "--json": json = Next(); break;
                case "--plot": plotPath = Next(); break;
                case "--no-nonlinear": nonlinear = false; break;
                case "--no-plain": plainRidge = false; break;
                case "--shapes": shapes = Next().Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--nonlinear-all": nonlinearAll = true; break;
                case "--shared-penalty": perCoefficient = false; break;
                case "--trees": trees = ParseList(Next(), "--trees")[0]; break;
                case "--windows": maxWindows = ParseList(Next(), "--windows")[0]; break;
                case "--components": components = ParseList(Next(), "--components")[0]; break;
                case "--olinear": olinear = true; break;
                case "--olinear-epochs": olinear = true; olinearEpochs = ParseList(Next(), "--olinear-epochs")[0]; break;
                case "--normalization": normalization = Enum.Parse<WindowNormalization>(Next(), ignoreCase: true); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}' for the forecast scenario.");
            }
        }
        var ml = new MLContext(seed: 1);
        var series = MultivariateSeries.LoadCsv(data);
        string name = series.Name;
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(name)}[/]: {series.Length} rows x {series.ChannelCount} channels, protocol {ProtocolFor(name)}");
        var rows = new List<Row>();
        var results = new List<ResultRow>();
        var table = new Table().AddColumns("T", "H", "forecaster", "MSE", "MAE", "train s (CPU s)", "published MSE / MAE (T = 96)");
        bool plotted = false;
        foreach (int t in selectLookback ? [] : lookbacks)
            foreach (int h in horizons)
            {
                var split = ForecastSplit.Create(series, t, h, ProtocolFor(name));
                var last = ForecastEvaluation.RepeatLast(split.Test);
                Add("RepeatLast", t, h, last, 0);

                var sw = Stopwatch.StartNew();
                var cpu = Cpu();
                var ridgeOptions = new OrthoRidgeOptions
                {
                    Normalization = normalization, PerCoefficient = perCoefficient, PenaltyShapes = shapes, Bases = bases.Values.ToArray(),
                };
                var ridge = ml.Forecasting.OrthoRidge(options: ridgeOptions).Fit(split);
                bases.TryAdd(t, ridge.InputBasis);
                bases.TryAdd(h, ridge.OutputBasis);
                double ridgeSeconds = sw.Elapsed.TotalSeconds, ridgeCpu = Cpu() - cpu;
                var ridgeTest = ForecastEvaluation.Evaluate(split.Test, (x, y) => ridge.Forecast(x).CopyTo(y));
                Add("OrthoRidge", t, h, ridgeTest, ridgeSeconds, ridgeCpu);

                if (plainRidge)
                {
                    // The closed-form reference: ridge on the raw windows, one penalty chosen on validation.
                    sw.Restart();
                    cpu = Cpu();
                    var plain = ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions { Normalization = WindowNormalization.None, PerCoefficient = false, PenaltyShapes = [0] }).Fit(split);
                    double plainSeconds = sw.Elapsed.TotalSeconds, plainCpu = Cpu() - cpu;
                    Add("Ridge(plain)", t, h, ForecastEvaluation.Evaluate(split.Test, (x, y) => plain.Forecast(x).CopyTo(y)), plainSeconds, plainCpu);
                }

                float[]? residualForecast = null;
                if (nonlinear && (nonlinearAll || h == horizons[0]))
                {
                    sw.Restart();
                    cpu = Cpu();
                    var trainer = ml.Regression.Trainers.LightGbm(new Microsoft.ML.Trainers.LightGbm.LightGbmRegressionTrainer.Options
                    {
                        NumberOfIterations = trees, NumberOfLeaves = 15, LearningRate = 0.1, MinimumExampleCountPerLeaf = 50, Seed = 1,
                        NumberOfThreads = 1, Verbose = false, Silent = true,
                    });
                    var residual = ml.Forecasting.OrthoResidual(trainer, options: new OrthoResidualOptions
                    {
                        Components = components, MaxTrainingWindows = maxWindows, MaxValidationWindows = maxWindows, Seed = 1, Ridge = ridgeOptions,
                    }).Fit(split);
                    double seconds = sw.Elapsed.TotalSeconds, cpuSeconds = Cpu() - cpu;
                    residualForecast = new float[split.Test.Count * h];
                    residual.Forecast(split.Test.InputArray(), residualForecast);
                    var metrics = Score(split.Test, residualForecast);
                    Add("OrthoRidge+LightGbm", t, h, metrics, seconds, cpuSeconds);
                }
                if (olinear)
                {
                    // The network itself, trained with the authors' recipe for the dataset and horizon (minutes per horizon).
                    var options = OLinearScenario.RecipeOrDefaults(name, h);
                    if (olinearEpochs is int e) options.MaxEpochs = e;
                    cpu = Cpu();
                    var (test, seconds) = OLinearScenario.TrainAndEvaluate(ml, split, options);
                    Add("OLinear", t, h, test, seconds, Cpu() - cpu);
                }
                if (!plotted)
                {
                    Plot(context, plotPath ?? context.Output("forecast.png"), split, ridge, residualForecast, name);
                    plotted = true;
                }
            }
        if (selectLookback)
        {
            int[] candidates = [96, 192, 336, 512, 720];
            foreach (int h in horizons)
            {
                double cpu0 = Cpu();
                var selection = ml.Forecasting.OrthoRidge(options: new OrthoRidgeOptions { Normalization = normalization, PerCoefficient = perCoefficient, PenaltyShapes = shapes })
                    .FitSelectingLookback(series, h, candidates, ProtocolFor(name));
                var m = ForecastEvaluation.Evaluate(selection.Split.Test, (x, y) => selection.Forecaster.Forecast(x).CopyTo(y));
                Console.WriteLine($"  H={h}: validation MSE by lookback " + string.Join(", ", selection.ValidationMse.Select(kv => $"{kv.Key}: {kv.Value:F3}")));
                Add("OrthoRidge(T on val)", selection.Split.Lookback, h, m, selection.TrainTime.TotalSeconds, Cpu() - cpu0);
            }
        }
        AnsiConsole.Write(table);
        if (json != null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.MarkupLine($"Results written to [bold]{Markup.Escape(json)}[/]");
        }
        return Task.FromResult<IReadOnlyList<ResultRow>>(results);

        void Add(string forecaster, int t, int h, ForecastMetrics m, double seconds, double cpuSeconds = 0)
        {
            rows.Add(new Row(forecaster, t, h, m.Mse, m.Mae, seconds));
            string pub = string.Join("; ", new[] { "OLinear", "DLinear", "RepeatLast" }
                .Where(p => (forecaster == "RepeatLast") == (p == "RepeatLast") && Published.ContainsKey((name, p, h)))
                .Select(p => { var v = Published[(name, p, h)]; return $"{p} {v.Mse:F3}" + (v.Mae is double a ? $" / {a:F3}" : ""); }));
            table.AddRow(t.ToString(), h.ToString(), forecaster, m.Mse.ToString("F3"), m.Mae.ToString("F3"), $"{seconds:F1} ({cpuSeconds:F1})", Markup.Escape(pub));
            results.Add(new ResultRow(Name, $"{name} {forecaster} T={t} H={h} MSE/MAE", $"{m.Mse:F3} / {m.Mae:F3} ({seconds:F1} s)", pub));
            AnsiConsole.MarkupLine($"  T={t} H={h} {forecaster}: MSE {m.Mse:F3} MAE {m.Mae:F3} ({seconds:F1} s, CPU {cpuSeconds:F1} s)");
        }
    }

    /// <summary>CPU seconds of this process so far: wall time is unreliable on a shared machine.</summary>
    private static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private static ForecastMetrics Score(WindowSet set, float[] forecast)
    {
        int h = set.Horizon;
        int w = 0;
        return ForecastEvaluation.Evaluate(set, (x, y) => forecast.AsSpan(h * w++, h).CopyTo(y));
    }

    private static int[] ParseList(string s, string option)
    {
        var values = s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        if (values.Length == 0 || values.Any(v => v <= 0))
            throw new ArgumentOutOfRangeException(option, s, $"Option {option} must be a comma-separated list of positive integers; got '{s}'.");
        return values;
    }

    private static void Plot(ScenarioContext context, string path, ForecastSplit split, OrthoRidgeForecaster ridge, float[]? residual, string name)
    {
        // The last channel (OT in the ETT files), the middle test window.
        var test = split.Test;
        int channel = test.ChannelCount - 1;
        int window = channel * test.WindowsPerChannel + test.WindowsPerChannel / 2;
        int t = test.Lookback, h = test.Horizon;
        var plt = new ScottPlot.Plot();
        var history = test.Input(window).ToArray().Select(v => (double)v).ToArray();
        var actual = test.Target(window).ToArray().Select(v => (double)v).ToArray();
        var xsHist = Enumerable.Range(0, t).Select(i => (double)i).ToArray();
        var xsFut = Enumerable.Range(t, h).Select(i => (double)i).ToArray();
        plt.Add.Scatter(xsHist, history).LegendText = "input";
        plt.Add.Scatter(xsFut, actual).LegendText = "actual";
        plt.Add.Scatter(xsFut, ridge.Forecast(test.Input(window)).Select(v => (double)v).ToArray()).LegendText = "OrthoRidge";
        if (residual != null)
            plt.Add.Scatter(xsFut, residual.AsSpan(window * h, h).ToArray().Select(v => (double)v).ToArray()).LegendText = "OrthoRidge+LightGbm";
        plt.Title($"{name} {split.Series.ColumnNames[channel]} (z-scored), test window {window % test.WindowsPerChannel}, T = {t}, H = {h}");
        plt.XLabel("step");
        plt.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plt.SavePng(path, 1000, 450);
        AnsiConsole.MarkupLine($"Plot written to [bold]{Markup.Escape(path)}[/]");
    }
}
