using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLTransforms.TimeSeries;
using MLTransforms.TimeSeries.OLinear;
using Spectre.Console;

namespace MLTransforms.Samples.Scenarios;

/// <summary>
/// Trains the OLinear network (arXiv 2505.08550) in .NET under the standard protocol, next to the closed-form
/// OrthoTrans ridge and repeat-last-value, then exports it to ONNX and scores the test windows through ONNX Runtime
/// (parity and windows per second).
/// </summary>
public sealed class OLinearScenario : IScenario
{
    // Published test MSE at T = 96 (arXiv 2505.08550).
    private static readonly Dictionary<(string Data, int H), double> Published = new()
    {
        [("ETTh1", 96)] = .360, [("ETTh1", 192)] = .416, [("ETTh1", 336)] = .457, [("ETTh1", 720)] = .463,
        [("ETTm1", 96)] = .302, [("ETTm1", 192)] = .357, [("ETTm1", 336)] = .387, [("ETTm1", 720)] = .452,
    };

    /// <inheritdoc/>
    public string Name => "olinear";

    /// <inheritdoc/>
    public string Description => "OLinear trained in .NET, scored through ONNX Runtime (--data csv --horizons 96 --full | --epochs N or N1,N2,.. per horizon, --max-windows N, --min-improvement R, --min-lr R, --lr R, --dropout P, --seed N, --ensemble K or K1,K2,.. per horizon, --json path)";

    /// <inheritdoc/>
    public int Order => 45;

    private sealed record Row(string forecaster, int lookback, int horizon, double mse, double mae, double trainSeconds);

    /// <inheritdoc/>
    public Task<IReadOnlyList<ResultRow>> RunAsync(ScenarioContext context, string[] args)
    {
        string data = context.Data("timeseries/ETTh1.csv");
        int lookback = 96;
        int[] horizons = [96];
        // The default run is a short demonstration; --full is the authors' recipe for the dataset and horizon
        // (OLinearOptions.AuthorsRecipe: 30 epochs, patience 8, their learning rate and dropout).
        var options = new OLinearOptions { MaxEpochs = 2, MaxTrainingWindows = 3000 };
        bool recipe = false;
        string? json = null;
        double? lr = null;
        float? dropout = null;
        int[] ensemble = [1];
        int[]? epochCaps = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option {args[i]} needs a value.");
            switch (args[i])
            {
                case "--data": data = Next(); break;
                case "--lookback": lookback = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--horizons": horizons = Ints(Next()); break;
                case "--full": recipe = true; options.MaxEpochs = 30; options.MaxTrainingWindows = null; break;
                case "--epochs": epochCaps = Ints(Next()); break;
                case "--max-windows": options.MaxTrainingWindows = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--all-windows": options.MaxTrainingWindows = null; break;
                case "--patience": options.Patience = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--min-improvement": options.MinImprovement = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--min-lr": options.MinLearningRate = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--lr": options.LearningRate = (lr = double.Parse(Next(), CultureInfo.InvariantCulture)).Value; break;
                case "--dropout": options.Dropout = (dropout = float.Parse(Next(), CultureInfo.InvariantCulture)).Value; break;
                case "--width": options.ModelWidth = options.FeedForwardWidth = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": options.Seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--ensemble": ensemble = Ints(Next()); break;
                case "--json": json = Next(); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}' for the olinear scenario.");
            }
        }
        CheckPerHorizon("--ensemble", "network count", ensemble, horizons.Length);
        if (epochCaps != null) CheckPerHorizon("--epochs", "epoch cap", epochCaps, horizons.Length);
        var results = new List<ResultRow>();

        var ml = new MLContext(seed: 1);
        var series = MultivariateSeries.LoadCsv(data);
        string name = series.Name;
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(name)}[/]: {series.Length} rows x {series.ChannelCount} channels");
        var rows = new List<Row>();
        var table = new Table().AddColumns("T", "H", "forecaster", "MSE", "MAE", "train s", "published OLinear MSE");
        for (int hi = 0; hi < horizons.Length; hi++)
        {
            int h = horizons[hi];
            options.EnsembleSize = PerHorizon(ensemble, hi);
            if (epochCaps != null) options.MaxEpochs = PerHorizon(epochCaps, hi);
            var split = ForecastSplit.Create(series, lookback, h, ForecastScenario.ProtocolFor(name));
            Add("RepeatLast", h, ForecastEvaluation.RepeatLast(split.Test), 0);
            var sw = Stopwatch.StartNew();
            var ridge = ml.Forecasting.OrthoRidge().Fit(split);
            Add("OrthoRidge", h, ForecastEvaluation.Evaluate(split.Test, (x, y) => ridge.Forecast(x).CopyTo(y)), sw.Elapsed.TotalSeconds);

            if (recipe && IsEtt(name))
            {
                // Learning rate and dropout per dataset and horizon; explicit options given after --full still win.
                var authors = OLinearPresets.Authors(Dataset(name), h, options.Seed);
                (options.LearningRate, options.Dropout) = (lr ?? authors.LearningRate, dropout ?? authors.Dropout);
                AnsiConsole.MarkupLine($"  H={h}: authors' recipe, learning rate {options.LearningRate:G3}, dropout {options.Dropout}");
            }
            options.Progress = new Progress(h, options.EnsembleSize);
            sw.Restart();
            var model = ml.Forecasting.OLinear(options: options).Fit(split);
            double seconds = sw.Elapsed.TotalSeconds;
            string label = model.EnsembleSize == 1 ? "OLinear" : $"OLinear x{model.EnsembleSize}";
            // One C# pass over the test windows: scored here, and the reference for ONNX Runtime below.
            var testInputs = split.Test.MultivariateInputArray();
            var forecast = new float[testInputs.Length / model.InputSize * model.OutputSize];
            model.Forecast(testInputs, forecast);
            Add(label, h, ForecastEvaluation.Score(forecast, split.Test.MultivariateTargetArray(), split.Test.Count), seconds);
            var epochs = model.FitInfo.Epochs;
            results.Add(new ResultRow(Name, $"{name} {label} T={lookback} H={h} epochs / best / s per epoch",
                $"{epochs.Count} / {string.Join(",", model.FitInfo.BestEpochs)} / {epochs.Average(e => e.Duration.TotalSeconds):F1}", $"BLAS {model.FitInfo.Blas}"));
            results.AddRange(OnnxCheck(model, testInputs, forecast));
        }
        AnsiConsole.Write(table);
        if (json != null)
            File.WriteAllText(json, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
        return Task.FromResult<IReadOnlyList<ResultRow>>(results);

        void Add(string forecaster, int h, ForecastMetrics m, double seconds)
        {
            rows.Add(new Row(forecaster, lookback, h, m.Mse, m.Mae, seconds));
            string pub = lookback == 96 && Published.TryGetValue((name, h), out var v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "";
            table.AddRow(lookback.ToString(), h.ToString(), forecaster, m.Mse.ToString("F3"), m.Mae.ToString("F3"), seconds.ToString("F1"), pub);
            results.Add(new ResultRow(Name, $"{name} {forecaster} T={lookback} H={h} MSE/MAE", $"{m.Mse:F3} / {m.Mae:F3} ({seconds:F1} s)", pub == "" ? "" : $"OLinear {pub}"));
            AnsiConsole.MarkupLine($"  T={lookback} H={h} {forecaster}: MSE {m.Mse:F4} MAE {m.Mae:F4} ({seconds:F1} s)");
        }
    }

    private static bool IsEtt(string name) => name.Equals("ETTh1", StringComparison.OrdinalIgnoreCase) || name.Equals("ETTm1", StringComparison.OrdinalIgnoreCase);

    /// <summary>The authors' settings for an ETT dataset and horizon, else the defaults.</summary>
    internal static OLinearOptions RecipeOrDefaults(string dataset, int horizon) => OLinearPresets.Authors(Dataset(dataset), horizon);

    /// <summary>The preset data set named by a CSV file name (ETTh1.csv -> ETTh1), else <see cref="OLinearDataset.Other"/>.</summary>
    private static OLinearDataset Dataset(string name) => Enum.TryParse<OLinearDataset>(name, ignoreCase: true, out var d) ? d : OLinearDataset.Other;

    /// <summary>
    /// Trains OLinear on <paramref name="split"/> and scores its test windows: the one-call hook for other scenarios
    /// (e.g. <c>forecast</c>). <paramref name="options"/> defaults to the authors' recipe.
    /// </summary>
    public static (ForecastMetrics Test, double TrainSeconds) TrainAndEvaluate(MLContext ml, ForecastSplit split, OLinearOptions? options = null)
    {
        options ??= RecipeOrDefaults(split.Series.Name, split.Horizon);
        options.Progress ??= new Progress(split.Horizon);
        var sw = Stopwatch.StartNew();
        var model = ml.Forecasting.OLinear(options: options).Fit(split);
        double seconds = sw.Elapsed.TotalSeconds;
        return (model.Evaluate(split.Test), seconds);
    }

    private static int[] Ints(string list) => list.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    /// <summary>An option given once for every horizon, or once per horizon.</summary>
    private static int PerHorizon(int[] values, int horizonIndex) => values[values.Length == 1 ? 0 : horizonIndex];

    private static void CheckPerHorizon(string option, string what, int[] values, int horizons)
    {
        if (values.Length != 1 && values.Length != horizons)
            throw new ArgumentException($"{option} takes one {what}, or one per horizon ({horizons}); got {values.Length}.");
    }

    /// <summary>Prints each epoch, with the process CPU time next to the wall time (the machine may be shared).</summary>
    private sealed class Progress(int horizon, int networks = 1) : IProgress<OLinearEpoch>
    {
        private TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;

        public void Report(OLinearEpoch e)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            AnsiConsole.MarkupLine(
                $"  H={horizon}{(networks > 1 ? $" network {e.Member + 1}/{networks}" : "")} epoch {e.Epoch,2}: train {e.TrainLoss:F5}  validation {e.ValidationLoss:F6}{(e.IsBest ? " *" : "  ")}  lr {e.LearningRate:G3}  {e.Duration.TotalSeconds:F1} s wall, {(cpu - _cpu).TotalSeconds:F1} s CPU");
            _cpu = cpu;
        }
    }

    /// <summary>Exports the model, scores the test windows <paramref name="x"/> through ONNX Runtime (2 threads) and
    /// compares with the C# forecast <paramref name="expected"/>.</summary>
    private IEnumerable<ResultRow> OnnxCheck(OLinearForecaster model, float[] x, float[] expected)
    {
        var bytes = model.ToOnnxBytes(inputName: "X", outputName: "Y");
        using var so = new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1 };
        using var session = new InferenceSession(bytes, so);
        int count = x.Length / model.InputSize;
        const int Batch = 512;
        var actual = new float[expected.Length];
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        for (int start = 0; start < count; start += Batch)
        {
            int b = Math.Min(Batch, count - start);
            var t = new DenseTensor<float>(x.AsMemory(start * model.InputSize, b * model.InputSize), [b, model.InputSize]);
            using var r = session.Run([NamedOnnxValue.CreateFromTensor("X", t)]);
            r.First().AsTensor<float>().ToArray().CopyTo(actual, start * model.OutputSize);
        }
        double seconds = sw.Elapsed.TotalSeconds;
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        double maxDiff = 0;
        for (int i = 0; i < actual.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
        AnsiConsole.MarkupLine($"  ONNX Runtime: {count} test windows in {seconds:F2} s = {count / seconds:F0} windows/s ({cpuSeconds:F2} s CPU: {count / cpuSeconds:F0} windows per CPU second); max |ORT - C#| = {maxDiff:E2} ({bytes.Length / 1e6:F1} MB model)");
        yield return new ResultRow(Name, $"OLinear H={model.Horizon} ONNX Runtime windows/s (2 threads)", $"{count / seconds:F0}", ">= 1000");
        yield return new ResultRow(Name, $"OLinear H={model.Horizon} max |ORT - C#|", $"{maxDiff:E2}", "<= 1e-4");
    }
}
