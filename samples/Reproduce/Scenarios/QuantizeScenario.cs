using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using MLTransforms.Embeddings;
using MLTransforms.Evaluation;
using MLTransforms.Quantization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLTransforms.Reproduce.Scenarios;

/// <summary>Options of <see cref="QuantizeScenario"/>.</summary>
public sealed class QuantizeSettings : ScenarioSettings
{
    /// <summary>Folder in the shared embeddings format (FORMAT.txt); a qrels/test.tsv beside or inside it gives nDCG@10.</summary>
    [CommandOption("--embeddings <DIR>")]
    [Description("Folder in the shared/data/retrieval/*/embeddings format (corpus.MODEL.f32, queries.MODEL.f32 or queries.MODEL-prefix.f32); default: the SciFact embeddings of ../shared/data, else the repository's SciFact subset")]
    public string? Embeddings { get; init; }

    /// <summary>Bit widths, comma-separated.</summary>
    [CommandOption("--bits <LIST>")]
    [Description("Bit widths of the codes, comma-separated, each 1, 2, 4 or 8 (default 1,2,4,8)")]
    [DefaultValue("1,2,4,8")]
    public string Bits { get; init; } = "1,2,4,8";

    /// <summary>Models, comma-separated.</summary>
    [CommandOption("--models <LIST>")]
    [Description("Models in the folder, comma-separated (default minilm,arctic)")]
    [DefaultValue("minilm,arctic")]
    public string Models { get; init; } = "minilm,arctic";

    /// <summary>Re-ranking factor r: the top 10 r by the codes are re-ranked exactly.</summary>
    [CommandOption("--rerank <R>")]
    [Description("Also re-rank the top 10·R candidates with the float vectors (default 4: top 40; 1: no re-ranked rows)")]
    [DefaultValue(4)]
    public int Rerank { get; init; } = 4;

    /// <summary>Rotation seed.</summary>
    [CommandOption("--seed <N>")]
    [Description("Seed of the rotation (default 20261207)")]
    [DefaultValue(20261207)]
    public int Seed { get; init; } = 20261207;

    /// <summary>JSON Lines output.</summary>
    [CommandOption("--json <FILE>")]
    [Description("Write one JSON object per line and (model, method, bits) to FILE")]
    public string? Json { get; init; }

    /// <inheritdoc/>
    public override ValidationResult Validate() => OptionValues.FirstError(
        (Embeddings is null || Directory.Exists(Embeddings), $"--embeddings folder '{Embeddings}' does not exist."),
        (OptionValues.PositiveInts(Bits) is { } b && b.All(x => x is 1 or 2 or 4 or 8), $"--bits must be a comma-separated list of 1, 2, 4 and 8; got '{Bits}'."),
        (Models.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length > 0, $"--models must name at least one model, comma-separated; got '{Models}'."),
        OptionValues.Positive("--rerank", Rerank));
}

/// <summary>
/// Rotation before quantization on a retrieval set: for each model and bit width, Recall@10 against the exact float
/// top-10 and nDCG@10 of the quantized index (centre + two-block Hadamard rotation + codebook), with and without
/// exact re-ranking, against float32, float16 and per-dimension min/max scalar quantization without rotation.
/// </summary>
public sealed class QuantizeScenario : Scenario<QuantizeSettings>
{
    /// <inheritdoc/>
    public override string Name => "quantize";

    /// <inheritdoc/>
    public override string Description => "Quantized embedding index (1-8 bits, rotation before quantization): Recall@10 vs exact, nDCG@10, bytes, encode and scan speed";

    /// <inheritdoc/>
    public override int Order => 60;

    /// <summary>One output row.</summary>
    public sealed record Row(string Model, string Method, int Bits, double BytesPerVector, double RecallAt10, double? NdcgAt10,
        double? EncodeMicrosPerVector, double? ScanMillionVectorsPerSecond);

    /// <inheritdoc/>
    public override Task<IReadOnlyList<ResultRow>> RunAsync(ScenarioContext context, QuantizeSettings settings)
    {
        // Without --embeddings: the whole SciFact set of ../shared/data when it is there, else the repository's subset.
        string dir = settings.Embeddings
            ?? (ScenarioContext.SharedDataDirectory is { } shared && Directory.Exists(Path.Combine(shared, "retrieval", "scifact", "embeddings"))
                ? Path.Combine(shared, "retrieval", "scifact", "embeddings") : ScenarioContext.Data("scifact-embeddings"));
        AnsiConsole.MarkupLine($"quantize: embeddings from {Markup.Escape(dir)}");
        var bits = OptionValues.PositiveInts(settings.Bits)!;
        // The judgements sit beside the folder (shared/data layout) or inside it (the repository's subset).
        var qrelsPath = new[] { Path.Combine(dir, "..", "qrels", "test.tsv"), Path.Combine(dir, "qrels", "test.tsv") }.FirstOrDefault(File.Exists);
        var qrels = qrelsPath is null ? null : RetrievalData.ReadQrels(qrelsPath);
        var rows = new List<Row>();
        var loaded = new Dictionary<string, (EmbeddingSet Corpus, EmbeddingSet Queries)>();
        foreach (var model in settings.Models.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var corpusPath = Path.Combine(dir, $"corpus.{model}.f32");
            var queryPath = File.Exists(Path.Combine(dir, $"queries.{model}-prefix.f32")) ? Path.Combine(dir, $"queries.{model}-prefix.f32") : Path.Combine(dir, $"queries.{model}.f32");
            if (!File.Exists(corpusPath) || !File.Exists(queryPath))
                throw new FileNotFoundException($"Model '{model}': expected {corpusPath} and {queryPath}.", corpusPath);
            var corpus = RetrievalData.ReadEmbeddings(corpusPath);
            var queries = RetrievalData.ReadEmbeddings(queryPath);
            if (qrels is not null) queries = queries.Select(queries.Ids.Where(qrels.ContainsKey).ToArray());
            loaded[model] = (corpus, queries);
            rows.AddRange(Evaluate(model, corpus, queries, qrels, bits, settings));
        }
        // The library's whole story: new-model (arctic) queries through an adapter against the old model's (MiniLM) quantized index.
        if (loaded.TryGetValue("minilm", out var old) && loaded.TryGetValue("arctic", out var fresh) && old.Corpus.Ids.SequenceEqual(fresh.Corpus.Ids))
        {
            var adapter = new AdapterPairs(fresh.Corpus.Dimension, old.Corpus.Dimension).Also(fresh.Corpus, old.Corpus, Enumerable.Range(0, old.Corpus.Count)).Fit();
            var mapped = adapter.Apply(fresh.Queries);
            rows.AddRange(Evaluate("arctic queries -> adapter -> minilm index", old.Corpus, mapped, qrels, bits, settings));
        }

        var table = new Table().Title($"Quantized index on {Markup.Escape(dir)}: Recall@10 vs exact float top-10, nDCG@10; seed {settings.Seed}")
            .AddColumns("model", "method", "bits", "bytes/vector", "Recall@10", "nDCG@10", "encode µs/vector", "scan M vectors/s");
        foreach (var r in rows)
            table.AddRow(r.Model, Markup.Escape(r.Method), r.Bits.ToString(), $"{r.BytesPerVector:F0}", $"{r.RecallAt10:F3}", r.NdcgAt10 is { } n ? $"{n:F3}" : "-", r.EncodeMicrosPerVector is { } e ? $"{e:F2}" : "", r.ScanMillionVectorsPerSecond is { } sc ? $"{sc:F1}" : "");
        AnsiConsole.Write(table);
        if (settings.Json is { } json)
        {
            var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
            File.WriteAllLines(json, rows.Select(r => JsonSerializer.Serialize(r, options)));
            context.Wrote(json);
        }
        IReadOnlyList<ResultRow> results = rows.Select(r => new ResultRow(Name, $"{r.Model} {r.Method} {r.Bits} bits: Recall@10 / nDCG@10",
            $"{r.RecallAt10:F3} / {(r.NdcgAt10 is { } n ? n.ToString("F3") : "-")} ({r.BytesPerVector:F0} B)")).ToList();
        return Task.FromResult(results);
    }

    private static IEnumerable<Row> Evaluate(string model, EmbeddingSet corpus, EmbeddingSet queries, Dictionary<string, Dictionary<string, int>>? qrels, int[] bitWidths, QuantizeSettings settings)
    {
        int d = corpus.Dimension, n = corpus.Count, nq = queries.Count;
        const int k = 10;
        var sw = Stopwatch.StartNew();
        var (exact, _) = ExactSearch.TopK(queries.Values, nq, corpus.Values, n, d, k, cosine: false);
        // Single-threaded float32 scan speed, for comparison with the quantized scans.
        sw.Restart();
        float sink = 0;
        for (int q = 0; q < nq; q++)
            for (int v = 0; v < n; v++)
                sink += System.Numerics.Tensors.TensorPrimitives.Dot(queries.Row(q), corpus.Row(v));
        double floatScan = (double)nq * n / sw.Elapsed.TotalSeconds / 1e6 + (sink == float.MaxValue ? 1 : 0);
        var exactSets = Enumerable.Range(0, nq).Select(q => exact.Skip(q * k).Take(k).ToHashSet()).ToArray();

        (double Recall, double? Ndcg) Score(Func<int, int[]> search)
        {
            double recall = 0;
            var ranked = new List<IReadOnlyList<string>>();
            for (int q = 0; q < nq; q++)
            {
                var top = search(q);
                recall += top.Count(exactSets[q].Contains) / (double)k;
                ranked.Add(top.Select(i => corpus.Ids[i]).ToArray());
            }
            double? ndcg = qrels is null ? null : RetrievalEvaluation.Evaluate(queries.Ids, ranked, qrels, k).Ndcg;
            return (recall / nq, ndcg);
        }

        int[] Exact(float[] decoded, int q)
        {
            var (idx, _) = ExactSearch.TopK(queries.Row(q), 1, decoded, n, d, k, cosine: false);
            return idx;
        }

        var f32 = Score(q => exactSets[q].Count == 0 ? [] : exact.Skip(q * k).Take(k).ToArray());
        yield return new Row(model, "float32 exact", 32, 4 * d, f32.Recall, f32.Ndcg, null, floatScan);
        var half = corpus.Values.Select(v => (float)(Half)v).ToArray();
        var f16 = Score(q => Exact(half, q));
        yield return new Row(model, "float16", 16, 2 * d, f16.Recall, f16.Ndcg, null, null);

        foreach (int bits in bitWidths)
        {
            // Per-dimension min/max uniform scalar quantization, no rotation, no centring; searched on the decoded vectors.
            var scalar = ScalarQuantize(corpus.Values, n, d, bits);
            var s = Score(q => Exact(scalar, q));
            yield return new Row(model, "per-dimension min/max, no rotation", bits, d * bits / 8.0, s.Recall, s.Ndcg, null, null);

            var quantizer = EmbeddingQuantizer.Fit(corpus.Values, n, d, new EmbeddingQuantizerOptions { Bits = bits, Seed = settings.Seed });
            var index = new QuantizedIndex(quantizer, keepVectors: settings.Rerank > 1);
            sw.Restart();
            index.Add(corpus.Values);
            double encode = sw.Elapsed.TotalMicroseconds / n;
            var hits = new int[nq][];
            sw.Restart();
            for (int q = 0; q < nq; q++)
                hits[q] = index.Search(queries.Row(q), k).Select(h => (int)h.Id).ToArray();
            double scan = (double)nq * n / sw.Elapsed.TotalSeconds / 1e6;
            var r = Score(q => hits[q]);
            yield return new Row(model, "centre + rotation + codebook", bits, quantizer.BytesPerVector, r.Recall, r.Ndcg, encode, scan);
            if (settings.Rerank > 1)
            {
                var rr = Score(q => index.Search(queries.Row(q), k, settings.Rerank).Select(h => (int)h.Id).ToArray());
                yield return new Row(model, $"centre + rotation + codebook, re-rank top {k * settings.Rerank}", bits, quantizer.BytesPerVector, rr.Recall, rr.Ndcg, encode, null);
            }
        }
    }

    /// <summary>Each dimension's [min, max] split into 2^b equal cells, each value replaced by its cell's midpoint.</summary>
    private static float[] ScalarQuantize(float[] values, int n, int d, int bits)
    {
        var min = new float[d];
        var max = new float[d];
        Array.Fill(min, float.MaxValue);
        Array.Fill(max, float.MinValue);
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++) { min[i] = Math.Min(min[i], values[r * d + i]); max[i] = Math.Max(max[i], values[r * d + i]); }
        int levels = 1 << bits;
        var result = new float[values.Length];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++)
            {
                float step = (max[i] - min[i]) / levels;
                int c = step > 0 ? Math.Clamp((int)((values[r * d + i] - min[i]) / step), 0, levels - 1) : 0;
                result[r * d + i] = min[i] + (c + 0.5f) * step;
            }
        return result;
    }
}
