using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Onnx;
using Spectre.Console;

namespace MLTransforms.Reproduce.Scenarios;

/// <summary>
/// ONNX as persistence and deployment format: fit a pipeline that mixes built-in transforms, a library component
/// (RandomRotation), a user-defined component (<see cref="SoftClip"/>) and a trainer; save it with <c>mlContext.Model.Save</c> and reload it in a fresh
/// MLContext; export the whole pipeline to one ONNX model; score it with ONNX Runtime; compare outputs and speed.
/// </summary>
public sealed class OnnxScenario : Scenario<ScenarioSettings>
{
    /// <inheritdoc/>
    public override string Name => "onnx";

    /// <inheritdoc/>
    public override string Description => "Save/Load through ONNX, whole-pipeline ONNX export, ONNX Runtime scoring vs ML.NET (optdigits)";

    /// <inheritdoc/>
    public override int Order => 90;

    private sealed class Digit
    {
        [LoadColumn(0)] public float Label { get; set; }
        [LoadColumn(1, 64), VectorType(64)] public float[] Features { get; set; } = [];
    }

    /// <inheritdoc/>
    public override Task<IReadOnlyList<ResultRow>> RunAsync(ScenarioContext context, ScenarioSettings settings)
    {
        var results = new List<ResultRow>();
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromTextFile<Digit>(ScenarioContext.Data("optdigits/train.csv"), separatorChar: ',', hasHeader: true);
        // Cached so the timing below measures scoring, not CSV parsing.
        var test = ml.Data.Cache(ml.Data.LoadFromTextFile<Digit>(ScenarioContext.Data("optdigits/test.csv"), separatorChar: ',', hasHeader: true));
        var features = ml.Data.CreateEnumerable<Digit>(test, false).SelectMany(d => d.Features).ToArray();
        int rows = features.Length / 64;

        ITransformer model = null!;
        AnsiConsole.Status().Start("Fitting normalise -> RandomRotation -> SoftClip (user-defined) -> multiclass SDCA ...", _ =>
        {
            model = ml.Transforms.NormalizeMeanVariance("Norm", "Features")
                .Append(ml.Transforms.RandomRotation("Rotated", "Norm", blocks: 2, seed: 1))
                .Append(new SoftClipEstimator(ml, "Clipped", "Rotated", c: 2f))
                .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
                .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Clipped", maximumNumberOfIterations: 30))
                .Fit(train);
        });
        var reference = Scores(model.Transform(test));
        float accuracy = (float)ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
        results.Add(new("onnx", "test accuracy (optdigits, rotation + SoftClip + SDCA)", accuracy.ToString("P2", CultureInfo.InvariantCulture)));

        // 1. Save / Load: the SoftClip step is written as an ML.NET OnnxTransformer over its own graph.
        var zip = context.Output("onnx-pipeline.zip");
        ml.Model.Save(model, train.Schema, zip);
        var fresh = new MLContext(seed: 2);
        var loaded = fresh.Model.LoadChecked(zip, out _);
        var steps = Flatten(loaded).Select(t => t.GetType().Name.Split('`')[0]).ToList();
        float reloadDiff = MaxAbsDiff(reference, Scores(loaded.Transform(test)));
        AnsiConsole.MarkupLine($"Saved [bold]{Markup.Escape(zip)}[/]; reloaded steps: {Markup.Escape(string.Join(" -> ", steps))}");
        results.Add(new("onnx", "Save + Load (fresh MLContext): max |score diff|", reloadDiff.ToString("0.0E+0", CultureInfo.InvariantCulture), "<= 1e-5"));

        // 2. Whole-pipeline export: inputs are the raw columns, outputs named like ML.NET's converter names them.
        var onnxPath = context.Output("onnx-pipeline.onnx");
        ml.Model.ExportToOnnx(model, test, onnxPath, new OnnxExportOptions { OutputColumns = ["Score"] });
        File.WriteAllBytes(context.Output("onnx-softclip.onnx"), new SoftClip("Clipped", "Rotated", 64, 2f).ToOnnxBytes());

        // 3. ONNX Runtime scoring, batched, over caller memory.
        var ortScores = new float[rows * 10];
        using var scorer = new OnnxScorer(onnxPath);
        using var scorer1 = new OnnxScorer(onnxPath, new OnnxScorerOptions { IntraOpThreads = 1 });
        AnsiConsole.MarkupLine($"Exported [bold]{Markup.Escape(onnxPath)}[/]: inputs {Markup.Escape(string.Join(", ", scorer.Inputs))}; outputs {Markup.Escape(string.Join(", ", scorer.Outputs))}");
        scorer.Score(features, ortScores);
        float ortDiff = MaxAbsDiff(reference, ortScores);
        results.Add(new("onnx", "ONNX Runtime vs ML.NET: max |score diff|", ortDiff.ToString("0.0E+0", CultureInfo.InvariantCulture), "<= 1e-4"));

        double csharp = RowsPerSecond(rows, () => Scores(model.Transform(test)));
        double reloadedSpeed = RowsPerSecond(rows, () => Scores(loaded.Transform(test)));
        double ort = RowsPerSecond(rows, () => scorer.Score(features, ortScores));
        double ort1 = RowsPerSecond(rows, () => scorer1.Score(features, ortScores));
        var table = new Table().AddColumns("Path", "Rows/s", "vs ML.NET");
        table.AddRow("ML.NET pipeline (C#)", csharp.ToString("N0", CultureInfo.InvariantCulture), "1.00x");
        table.AddRow("ML.NET reloaded (OnnxTransformer, one row per ORT call)", reloadedSpeed.ToString("N0", CultureInfo.InvariantCulture), $"{reloadedSpeed / csharp:F2}x");
        table.AddRow("ONNX Runtime, default threads", ort.ToString("N0", CultureInfo.InvariantCulture), $"{ort / csharp:F2}x");
        table.AddRow("ONNX Runtime, 1 thread", ort1.ToString("N0", CultureInfo.InvariantCulture), $"{ort1 / csharp:F2}x");
        AnsiConsole.Write(table);
        results.Add(new("onnx", "ML.NET pipeline rows/s (C# path)", csharp.ToString("N0", CultureInfo.InvariantCulture)));
        results.Add(new("onnx", "ML.NET reloaded pipeline rows/s (OnnxTransformer stand-in)", reloadedSpeed.ToString("N0", CultureInfo.InvariantCulture), $"{reloadedSpeed / csharp:F2}x ML.NET"));
        results.Add(new("onnx", "ONNX Runtime rows/s (default threads / 1 thread)",
            $"{ort.ToString("N0", CultureInfo.InvariantCulture)} / {ort1.ToString("N0", CultureInfo.InvariantCulture)}", $"{ort / csharp:F2}x / {ort1 / csharp:F2}x ML.NET"));
        return Task.FromResult<IReadOnlyList<ResultRow>>(results);
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer t) =>
        t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];

    private static float[] Scores(IDataView scored)
    {
        var column = scored.Schema["Score"];
        var values = new List<float>();
        using var cursor = scored.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var buffer = default(VBuffer<float>);
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            foreach (var v in buffer.DenseValues()) values.Add(v);
        }
        return values.ToArray();
    }

    private static float MaxAbsDiff(float[] a, float[] b)
    {
        if (a.Length != b.Length) throw new InvalidOperationException($"Score lengths differ: {a.Length} vs {b.Length}.");
        float max = 0;
        for (int i = 0; i < a.Length; i++) max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
        return max;
    }

    /// <summary>Best of a few timed repetitions (after one warm-up), so a busy machine disturbs the figure less.</summary>
    private static double RowsPerSecond(int rows, Action run)
    {
        run();
        double best = double.MaxValue;
        for (int rep = 0; rep < 5; rep++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 5; i++) run();
            best = Math.Min(best, sw.Elapsed.TotalSeconds / 5);
        }
        return rows / best;
    }
}
