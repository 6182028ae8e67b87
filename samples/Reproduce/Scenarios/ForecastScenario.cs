using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using MLTransforms.TimeSeries;
using Microsoft.ML;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLTransforms.Reproduce.Scenarios;

/// <summary>Options of <see cref="ForecastScenario"/>.</summary>
public sealed class ForecastSettings : ScenarioSettings
{
    /// <summary>Series CSV; null: the shipped ETTh1.</summary>
    [CommandOption("--data <CSV>")]
    [Description("Series CSV (date column, then one column per channel); default: the shipped data/timeseries/ETTh1.csv")]
    public string? Data { get; init; }

    /// <summary>Lookbacks T, comma-separated, or <c>auto</c>.</summary>
    [CommandOption("--lookback <T>")]
    [Description("Lookback T, a comma-separated list, or auto: chosen on validation among 96,192,336,512,720 per horizon")]
    [DefaultValue("96")]
    public string Lookback { get; init; } = "96";

    /// <summary>Horizons H, comma-separated.</summary>
    [CommandOption("--horizons <LIST>")]
    [Description("Horizons H, comma-separated")]
    [DefaultValue("96,192,336,720")]
    public string Horizons { get; init; } = "96,192,336,720";

    /// <summary>Where to write the table as JSON.</summary>
    [CommandOption("--json <PATH>")]
    [Description("Also write the table as JSON to this file")]
    public string? Json { get; init; }

    /// <summary>Where to write the forecast plot.</summary>
    [CommandOption("--plot <PATH>")]
    [Description("Forecast plot path; default: forecast.png in the output folder")]
    public string? Plot { get; init; }

    /// <summary>Skips the LightGBM residual forecaster.</summary>
    [CommandOption("--no-nonlinear")]
    [Description("Skip OrthoRidge+LightGbm (residual trees)")]
    public bool NoNonlinear { get; init; }

    /// <summary>Skips the plain ridge reference.</summary>
    [CommandOption("--no-plain")]
    [Description("Skip the plain ridge on raw windows")]
    public bool NoPlain { get; init; }

    /// <summary>Penalty shapes, comma-separated; null: the library's default.</summary>
    [CommandOption("--shapes <LIST>")]
    [Description("Candidate penalty shapes alpha, comma-separated; default: OrthoRidgeOptions.PenaltyShapes, 0,1")]
    public string? Shapes { get; init; }

    /// <summary>Fits the residual trees at every horizon, not only the first.</summary>
    [CommandOption("--nonlinear-all")]
    [Description("Fit OrthoRidge+LightGbm at every horizon, not only the first")]
    public bool NonlinearAll { get; init; }

    /// <summary>One penalty for all output coefficients.</summary>
    [CommandOption("--shared-penalty")]
    [Description("One ridge penalty for all output coefficients instead of one per coefficient")]
    public bool SharedPenalty { get; init; }

    /// <summary>LightGBM trees.</summary>
    [CommandOption("--trees <N>")]
    [Description("LightGBM trees per residual component")]
    [DefaultValue(40)]
    public int Trees { get; init; } = 40;

    /// <summary>At most this many training and validation windows for the residual trees.</summary>
    [CommandOption("--windows <N>")]
    [Description("At most this many training (and validation) windows for the residual trees")]
    [DefaultValue(10_000)]
    public int Windows { get; init; } = 10_000;

    /// <summary>Residual components modelled by trees.</summary>
    [CommandOption("--components <N>")]
    [Description("Output components whose residuals the trees model")]
    [DefaultValue(4)]
    public int Components { get; init; } = 4;

    /// <summary>Also trains the OLinear network.</summary>
    [CommandOption("--olinear")]
    [Description("Also train the OLinear network with the authors' recipe (minutes per horizon)")]
    public bool OLinear { get; init; }

    /// <summary>Epoch cap of OLinear; implies <see cref="OLinear"/>.</summary>
    [CommandOption("--olinear-epochs <N>")]
    [Description("Cap OLinear's epochs (implies --olinear)")]
    public int? OLinearEpochs { get; init; }

    /// <summary>Window normalisation of OrthoRidge.</summary>
    [CommandOption("--normalization <MODE>")]
    [Description("Window normalisation of OrthoRidge: none, subtractmean or subtractmeankeeplevel")]
    [DefaultValue("subtractmean")]
    public string Normalization { get; init; } = "subtractmean";

    /// <summary>The series file to load.</summary>
    internal string DataPath => Data ?? ScenarioContext.Data("timeseries/ETTh1.csv");

    /// <summary>Whether the lookback is chosen on validation.</summary>
    internal bool SelectLookback => Lookback.Equals("auto", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public override ValidationResult Validate() => OptionValues.FirstError(
        OptionValues.ExistingFile("--data", Data),
        (SelectLookback || OptionValues.PositiveInts(Lookback) is not null, $"--lookback must be auto or a comma-separated list of positive integers; got '{Lookback}'."),
        OptionValues.PositiveList("--horizons", Horizons),
        (Shapes is null || OptionValues.Doubles(Shapes) is not null, $"--shapes must be a comma-separated list of finite numbers; got '{Shapes}'."),
        OptionValues.Positive("--trees", Trees),
        OptionValues.Positive("--windows", Windows),
        OptionValues.Positive("--components", Components),
        OptionValues.Positive("--olinear-epochs", OLinearEpochs),
        (Enum.TryParse<WindowNormalization>(Normalization, ignoreCase: true, out var n) && Enum.IsDefined(n),
            $"--normalization must be none, subtractmean or subtractmeankeeplevel; got '{Normalization}'."));
}

/// <summary>
/// Long-horizon forecasting under the standard protocol: OrthoTrans ridge, OrthoTrans ridge + LightGBM residual
/// corrections and the repeat-last-value baseline, next to published figures.
/// </summary>
public sealed class ForecastScenario : Scenario<ForecastSettings>
{
    /// <summary>The sample's choice of split protocol for the data sets it ships: the ETT protocols for ETTh*/ETTm*,
    /// ratios for the rest.</summary>
    internal static SplitProtocol ProtocolFor(string dataset) =>
        dataset.StartsWith("ETTh", StringComparison.OrdinalIgnoreCase) ? SplitProtocol.EttHourly
        : dataset.StartsWith("ETTm", StringComparison.OrdinalIgnoreCase) ? SplitProtocol.EttMinute
        : SplitProtocol.Ratios;

    /// <inheritdoc/>
    public override string Name => "forecast";

    /// <inheritdoc/>
    public override string Description => "OrthoTrans forecasters (ridge, ridge + LightGBM residuals) and repeat-last on ETTh1, next to published MSE / MAE";

    /// <inheritdoc/>
    public override int Order => 40;

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
    public override Task<IReadOnlyList<ResultRow>> RunAsync(ScenarioContext context, ForecastSettings settings)
    {
        string data = settings.DataPath;
        bool selectLookback = settings.SelectLookback;
        int[] lookbacks = selectLookback ? [] : OptionValues.PositiveInts(settings.Lookback)!;
        int[] horizons = OptionValues.PositiveInts(settings.Horizons)!;
        string? json = settings.Json, plotPath = settings.Plot;
        bool nonlinear = !settings.NoNonlinear, nonlinearAll = settings.NonlinearAll, plainRidge = !settings.NoPlain;
        double[] shapes = OptionValues.Doubles(settings.Shapes) ?? new OrthoRidgeOptions().PenaltyShapes;
        var bases = new Dictionary<int, OrthoTransBasis>(); // train rows do not depend on T or H: fit each length once
        var normalization = Enum.Parse<WindowNormalization>(settings.Normalization, ignoreCase: true);
        bool perCoefficient = !settings.SharedPenalty;
        int trees = settings.Trees, maxWindows = settings.Windows, components = settings.Components;
        bool olinear = settings.OLinear || settings.OLinearEpochs is not null;
        int? olinearEpochs = settings.OLinearEpochs;
        var ml = new MLContext(seed: 1);
        var series = MultivariateSeries.LoadCsv(data);
        string name = series.Name;
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(name)}[/]: {series.Length} rows x {series.ChannelCount} channels, protocol {ProtocolFor(name)}");
        var rows = new List<Row>();
        var results = new List<ResultRow>();
        var table = new Table().AddColumns("T", "H", "forecaster", "MSE", "MAE", "train s (CPU s)", "published MSE / MAE (T = 96)");
        bool plotted = false;
        // One step per (lookback, horizon): the lines above the bar report each forecaster as it finishes.
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"{name}: fits per lookback and horizon", maxValue: Math.Max(1, lookbacks.Length) * horizons.Length);
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
                            Plot(plotPath is null ? context.Output("forecast.png") : context.Wrote(plotPath), split, ridge, residualForecast, name);
                            plotted = true;
                        }
                        task.Increment(1);
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
                        AnsiConsole.WriteLine($"  H={h}: validation MSE by lookback " + string.Join(", ", selection.ValidationMse.Select(kv => $"{kv.Key}: {kv.Value:F3}")));
                        Add("OrthoRidge(T on val)", selection.Split.Lookback, h, m, selection.TrainTime.TotalSeconds, Cpu() - cpu0);
                        task.Increment(1);
                    }
                }
            });
        AnsiConsole.Write(table);
        if (json != null)
        {
            File.WriteAllText(context.Wrote(json), JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
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

    private static void Plot(string path, ForecastSplit split, OrthoRidgeForecaster ridge, float[]? residual, string name)
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
        plt.XLabel("time step (input window, then forecast horizon)");
        plt.YLabel($"{split.Series.ColumnNames[channel]} (z-scored)");
        plt.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plt.SavePng(path, 1000, 450);
        AnsiConsole.MarkupLine($"Plot written to [bold]{Markup.Escape(path)}[/]");
    }
}
