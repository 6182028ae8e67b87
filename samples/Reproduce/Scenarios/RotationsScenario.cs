using System.ComponentModel;
using System.Globalization;
using System.Numerics.Tensors;
using MLTransforms.Core.Pipeline;
using MLTransforms.Rotations;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLTransforms.Reproduce.Scenarios;

/// <summary>Options of <see cref="RotationsScenario"/>.</summary>
public sealed class RotationsSettings : ScenarioSettings
{
    /// <summary>Kolmogorov-Smirnov draws per cell.</summary>
    [CommandOption("--draws <N>")]
    [Description("Kolmogorov-Smirnov draws per (blocks, dimension) cell; the paper uses 100000")]
    [DefaultValue(10_000)]
    public int Draws { get; init; } = 10_000;

    /// <summary>Kernel error on the SciFact embeddings of the shared data instead of optdigits.</summary>
    [CommandOption("--scifact")]
    [Description("Kernel error on the 384-d SciFact MiniLM embeddings from ../shared/data (optdigits when absent)")]
    public bool SciFact { get; init; }

    /// <summary>Skips the letter data set in the accuracy table.</summary>
    [CommandOption("--no-letter")]
    [Description("Skip the letter data set (from ../shared/data) in the accuracy table")]
    public bool NoLetter { get; init; }

    /// <inheritdoc/>
    public override ValidationResult Validate()
        => Draws > 0 ? ValidationResult.Success() : ValidationResult.Error($"--draws must be a positive number of draws; got {Draws}.");
}

/// <summary>
/// Structured random rotations: how close H D ... H D comes to a uniform rotation (Kolmogorov-Smirnov table and
/// plot), SORF vs ML.NET random Fourier features on kernel approximation error, and downstream accuracy.
/// </summary>
public sealed class RotationsScenario : Scenario<RotationsSettings>
{
    private static readonly int[] Dimensions = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
    private static readonly int[] Ranks = [256, 512, 1024, 2048, 4096];
    private static readonly int[] Seeds = [1, 2, 3];
    private const int ClassifierRank = 2048;

    /// <inheritdoc/>
    public override string Name => "rotations";

    /// <inheritdoc/>
    public override string Description => "Structured Hadamard rotations: KS distance to a uniform rotation, SORF vs RFF kernel error and accuracy";

    /// <inheritdoc/>
    public override int Order => 10;

    /// <inheritdoc/>
    public override Task<IReadOnlyList<ResultRow>> RunAsync(ScenarioContext context, RotationsSettings settings)
    {
        var results = new List<ResultRow>();
        results.AddRange(KolmogorovSmirnovTable(context, settings.Draws));
        results.AddRange(KernelError(context, settings.SciFact));
        results.AddRange(Accuracy(context, !settings.NoLetter));
        return Task.FromResult<IReadOnlyList<ResultRow>>(results);
    }

    private static IEnumerable<ResultRow> KolmogorovSmirnovTable(ScenarioContext context, int draws)
    {
        var ks = new double[3, Dimensions.Length];
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"KS distance, {draws:N0} draws per cell", maxValue: 3 * Dimensions.Sum());
                for (int b = 1; b <= 3; b++)
                    for (int i = 0; i < Dimensions.Length; i++)
                    {
                        double before = task.Value;
                        int size = Dimensions[i];
                        // Reported synchronously from the worker threads; ProgressTask is thread-safe.
                        var progress = new SynchronousProgress(f => task.Value = Math.Max(task.Value, before + f * size));
                        ks[b - 1, i] = RotationDiagnostics.KolmogorovSmirnov(size, b, draws, seed: 1, progress: progress);
                        task.Value = before + size;
                    }
            });

        double noise = RotationDiagnostics.NoiseFloor(draws);
        var table = new Table().AddColumn("d").AddColumn("1 block").AddColumn("2 blocks").AddColumn("3 blocks").AddColumn("noise floor");
        for (int i = 0; i < Dimensions.Length; i++)
            table.AddRow($"{Dimensions[i]}", $"{ks[0, i]:F4}", $"{ks[1, i]:F4}", $"{ks[2, i]:F4}", $"{noise:F4}");
        AnsiConsole.MarkupLine($"Kolmogorov-Smirnov distance of sqrt(d) (R e1)_1 to a uniform-rotation coordinate ({draws:N0} draws; the paper: 1 block ~0.34; 2 blocks ~0.10 at d=16, ~0.008 at d=4096 with 100,000 draws; 3 blocks at the sampling noise by d=256). Three blocks decay like 1/d: with 100,000 draws they reach that lower noise floor near d=2048.");
        AnsiConsole.Write(table);

        var plot = new ScottPlot.Plot();
        var logD = Dimensions.Select(d => Math.Log10(d)).ToArray();
        string[] labels = ["1 block (H D)", "2 blocks (H D H D)", "3 blocks"];
        for (int b = 0; b < 3; b++)
        {
            var s = plot.Add.Scatter(logD, Enumerable.Range(0, Dimensions.Length).Select(i => Math.Log10(ks[b, i])).ToArray());
            s.LegendText = labels[b];
        }
        var floor = plot.Add.HorizontalLine(Math.Log10(noise));
        floor.LegendText = $"sampling noise ({draws:N0} draws)";
        floor.LinePattern = ScottPlot.LinePattern.Dashed;
        LogTickGenerator.Apply(plot.Axes.Bottom, "G4", Dimensions.Select(d => (double)d).ToArray());
        LogTickGenerator.Apply(plot.Axes.Left, "G3");
        plot.Title("Structured Hadamard rotation vs uniform rotation (input e1)");
        plot.XLabel("dimension d (log scale)");
        plot.YLabel("Kolmogorov-Smirnov distance (log scale)");
        plot.ShowLegend(ScottPlot.Alignment.LowerLeft);
        plot.SavePng(context.Output("rotations-ks.png"), 800, 500);

        int last = Dimensions.Length - 1;
        for (int b = 0; b < 3; b++)
            yield return new ResultRow("rotations", $"KS distance, {b + 1} block(s), d = 4096, {draws:N0} draws", $"{ks[b, last]:F4}",
                b switch { 0 => "paper: ~0.34", 1 => "paper: ~0.008 (100k draws)", _ => $"noise floor {noise:F4}" });
    }

    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
    }

    private static IEnumerable<ResultRow> KernelError(ScenarioContext context, bool scifact)
    {
        float[][] rows;
        string source;
        var scifactPath = ScenarioContext.SharedDataDirectory is { } shared ? Path.Combine(shared, "retrieval/scifact/embeddings/corpus.minilm.f32") : null;
        if (scifact && scifactPath is not null && File.Exists(scifactPath))
        {
            rows = ReadEmbeddings(scifactPath, 1000);
            source = "SciFact MiniLM embeddings (384-d)";
        }
        else
        {
            rows = ReadCsv(ScenarioContext.Data("optdigits/train.csv"), 1000);
            source = "optdigits (64-d)";
        }

        var ml = new MLContext(1);
        var data = Load(ml, rows);
        // Fit on 71 rows: both ML.NET and SORF then take the median over all 2485 pairs, so they approximate exactly
        // the same kernel exp(-||x - y||^2 / m) and the comparison is not blurred by two estimates of m.
        var fitData = Load(ml, rows[..71]);
        var sorf = new double[Ranks.Length];
        var rff = new double[Ranks.Length];
        double m = 0;
        double[]? exact = null;
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"Kernel Gram error on {rows.Length} rows of {source}", maxValue: Ranks.Length * Seeds.Length);
                for (int r = 0; r < Ranks.Length; r++)
                    foreach (int seed in Seeds)
                    {
                        var model = ml.Transforms.OrthogonalRandomFeatures("Kernel", "Features", rank: Ranks[r], seed: seed).Fit(fitData);
                        if (exact is null || model.DistanceScale != m)
                            exact = ExactGram(rows, m = model.DistanceScale);
                        sorf[r] += GramError(exact, Read(model.Transform(data))) / Seeds.Length;
                        var baseline = ml.Transforms.ApproximatedKernelMap("Kernel", "Features", rank: Ranks[r], seed: seed).Fit(fitData);
                        rff[r] += GramError(exact, Read(baseline.Transform(data))) / Seeds.Length;
                        task.Increment(1);
                    }
            });

        var table = new Table().AddColumn("rank").AddColumn("RFF (ApproximatedKernelMap)").AddColumn("SORF (OrthogonalRandomFeatures)").AddColumn("SORF / RFF");
        for (int r = 0; r < Ranks.Length; r++)
            table.AddRow($"{Ranks[r]}", $"{rff[r]:F4}", $"{sorf[r]:F4}", $"{sorf[r] / rff[r]:F2}");
        AnsiConsole.MarkupLine($"Relative Frobenius error of the Gram matrix vs exp(-||x-y||^2/m), m = {m:G4}, {source}, mean of {Seeds.Length} seeds");
        AnsiConsole.Write(table);

        var plot = new ScottPlot.Plot();
        var logR = Ranks.Select(k => Math.Log10(k)).ToArray();
        plot.Add.Scatter(logR, rff.Select(Math.Log10).ToArray()).LegendText = "RFF (ML.NET ApproximatedKernelMap)";
        plot.Add.Scatter(logR, sorf.Select(Math.Log10).ToArray()).LegendText = "SORF (OrthogonalRandomFeatures)";
        LogTickGenerator.Apply(plot.Axes.Bottom, "G4", Ranks.Select(r => (double)r).ToArray());
        LogTickGenerator.Apply(plot.Axes.Left, "G3");
        plot.Title($"Gaussian kernel approximation, {source}");
        plot.XLabel("rank: number of random features (log scale)");
        plot.YLabel("Gram matrix relative error (log scale)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(context.Output("rotations-kernel-error.png"), 800, 500);

        for (int r = 0; r < Ranks.Length; r++)
            yield return new ResultRow("rotations", $"Gram error, rank {Ranks[r]}, {source}: SORF / RFF", $"{sorf[r]:F4} / {rff[r]:F4}", "SORF <= RFF");
    }

    private static IEnumerable<ResultRow> Accuracy(ScenarioContext context, bool letter)
    {
        var sets = new List<(string Name, string Train, string Test)> { ("optdigits", ScenarioContext.Data("optdigits/train.csv"), ScenarioContext.Data("optdigits/test.csv")) };
        if (letter && ScenarioContext.SharedDataDirectory is { } shared && File.Exists(Path.Combine(shared, "classification/letter/train.csv")))
            sets.Add(("letter", Path.Combine(shared, "classification/letter/train.csv"), Path.Combine(shared, "classification/letter/test.csv")));

        var table = new Table().AddColumn("data").AddColumn("raw features").AddColumn($"RFF, rank {ClassifierRank}").AddColumn($"SORF, rank {ClassifierRank}");
        var rows = new List<ResultRow>();
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("SDCA maximum entropy on raw / RFF / SORF features", maxValue: 3 * sets.Count);
                foreach (var (name, trainPath, testPath) in sets)
                {
                    var ml = new MLContext(1);
                    int d = File.ReadLines(trainPath).First().Split(',').Length - 1;
                    var loader = ml.Data.CreateTextLoader([new TextLoader.Column("Label", DataKind.Single, 0), new TextLoader.Column("Features", DataKind.Single, 1, d)],
                        separatorChar: ',', hasHeader: true);
                    var train = ml.Data.Cache(loader.Load(trainPath));
                    var test = loader.Load(testPath);
                    var acc = new double[3];
                    for (int f = 0; f < 3; f++)
                    {
                        IEstimator<ITransformer> features = f switch
                        {
                            0 => ml.Transforms.NormalizeMinMax("Input", "Features"),
                            1 => ml.Transforms.ApproximatedKernelMap("Input", "Features", rank: ClassifierRank, seed: 1),
                            _ => ml.Transforms.OrthogonalRandomFeatures("Input", "Features", rank: ClassifierRank, seed: 1),
                        };
                        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
                            .Append(features)
                            .AppendCacheCheckpoint(ml)
                            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Input", maximumNumberOfIterations: 30));
                        var model = pipeline.Fit(train);
                        acc[f] = ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
                        task.Increment(1);
                    }
                    table.AddRow(name, $"{acc[0]:P2}", $"{acc[1]:P2}", $"{acc[2]:P2}");
                    rows.Add(new ResultRow("rotations", $"{name} test accuracy, SDCA: raw / RFF / SORF (rank {ClassifierRank})", $"{acc[0]:P2} / {acc[1]:P2} / {acc[2]:P2}"));
                }
            });
        AnsiConsole.MarkupLine("Test accuracy of a linear classifier (SDCA maximum entropy, 30 epochs) on raw vs kernel features");
        AnsiConsole.Write(table);
        return rows;
    }

    private static IDataView Load(MLContext ml, float[][] rows)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, rows[0].Length);
        return ml.Data.LoadFromEnumerable(rows.Select(r => new Row { Features = r }), schema);
    }

    private static float[][] Read(IDataView data)
    {
        return data.GetColumn<float[]>("Kernel").ToArray();
    }

    private static double[] ExactGram(float[][] rows, double m)
    {
        int n = rows.Length;
        var g = new double[n * n];
        Parallel.For(0, n, i =>
        {
            for (int j = 0; j < n; j++)
            {
                double dist = TensorPrimitives.Distance(rows[i], rows[j]);
                g[i * n + j] = Math.Exp(-dist * dist / m);
            }
        });
        return g;
    }

    private static double GramError(double[] exact, float[][] features)
    {
        int n = features.Length;
        var num = new double[n];
        var den = new double[n];
        Parallel.For(0, n, i =>
        {
            for (int j = 0; j < n; j++)
            {
                double e = exact[i * n + j], diff = TensorPrimitives.Dot(features[i], features[j]) - e;
                num[i] += diff * diff;
                den[i] += e * e;
            }
        });
        return Math.Sqrt(num.Sum() / den.Sum());
    }

    private static float[][] ReadCsv(string path, int maxRows)
        => File.ReadLines(path).Skip(1).Take(maxRows)
            .Select(l => l.Split(',').Skip(1).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();

    /// <summary>Reads the shared embedding format (see FORMAT.txt next to the files).</summary>
    private static float[][] ReadEmbeddings(string path, int maxRows)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        reader.ReadBytes(8);
        reader.ReadInt32();
        int n = reader.ReadInt32(), dim = reader.ReadInt32(), note = reader.ReadInt32();
        reader.ReadBytes(note);
        return Enumerable.Range(0, Math.Min(n, maxRows)).Select(_ => Enumerable.Range(0, dim).Select(_ => reader.ReadSingle()).ToArray()).ToArray();
    }
}
