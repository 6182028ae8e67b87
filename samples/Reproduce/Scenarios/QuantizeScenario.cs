using System.ComponentModel;
using System.Diagnostics;
using System.Numerics.Tensors;
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
    [Description("Bit widths of the codes, comma-separated, each 1, 2, 3, 4 or 8 (default 1,2,4,8)")]
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

    /// <summary>Number of rotation seeds (seed, seed + 1, ...); rows report the mean.</summary>
    [CommandOption("--seeds <N>")]
    [Description("Run N rotation seeds (--seed, --seed + 1, ...) and report the mean of each figure (default 1)")]
    [DefaultValue(1)]
    public int Seeds { get; init; } = 1;

    /// <summary>Also measure without error shaping, and the codebooks with a float query: Lloyd–Max and extended RaBitQ.</summary>
    [CommandOption("--compare-codebooks")]
    [Description("Also run without error shaping, and score those Lloyd–Max codes and extended RaBitQ codes (uniform grid, per-vector scale) with the float query, at 2 bits and more")]
    public bool CompareCodebooks { get; init; }

    /// <summary>JSON Lines output.</summary>
    [CommandOption("--json <FILE>")]
    [Description("Write one JSON object per line and (model, method, bits) to FILE")]
    public string? Json { get; init; }

    /// <inheritdoc/>
    public override ValidationResult Validate() => OptionValues.FirstError(
        (Embeddings is null || Directory.Exists(Embeddings), $"--embeddings folder '{Embeddings}' does not exist."),
        (OptionValues.PositiveInts(Bits) is { } b && b.All(x => x is 1 or 2 or 3 or 4 or 8), $"--bits must be a comma-separated list of 1, 2, 3, 4 and 8; got '{Bits}'."),
        OptionValues.Positive("--seeds", Seeds),
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
    /// <param name="Model">Model name.</param>
    /// <param name="Method">How the vectors were coded and searched.</param>
    /// <param name="Bits">Bits per coordinate (32 and 16 for the float rows).</param>
    /// <param name="BytesPerVector">Storage per vector, padding and scalars included.</param>
    /// <param name="RecallAt10">Recall@10 against the exact float top-10 (mean over seeds).</param>
    /// <param name="NdcgAt10">nDCG@10 against the judgements (mean over seeds); null without judgements.</param>
    /// <param name="EncodeMicrosPerVector">Encoding time per vector (mean over seeds).</param>
    /// <param name="ScanMillionVectorsPerSecond">Scan speed (mean over seeds).</param>
    /// <param name="Seeds">Number of rotation seeds averaged (1 for rows without a rotation).</param>
    /// <param name="RecallAt10PerSeed">Recall@10 of each seed.</param>
    public sealed record Row(string Model, string Method, int Bits, double BytesPerVector, double RecallAt10, double? NdcgAt10,
        double? EncodeMicrosPerVector, double? ScanMillionVectorsPerSecond, int Seeds = 1, double[]? RecallAt10PerSeed = null);

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

        var seeds = settings.Seeds == 1 ? $"seed {settings.Seed}" : $"mean of seeds {settings.Seed}..{settings.Seed + settings.Seeds - 1}";
        var table = new Table().Title($"Quantized index on {Markup.Escape(dir)}: Recall@10 vs exact float top-10, nDCG@10; {seeds}")
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
                sink += TensorPrimitives.Dot(queries.Row(q), corpus.Row(v));
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

            var perSeed = new List<Row>();
            for (int seed = settings.Seed; seed < settings.Seed + settings.Seeds; seed++)
            {
                var quantizer = EmbeddingQuantizer.Fit(corpus.Values, n, d, new EmbeddingQuantizerOptions { Bits = bits, Seed = seed });
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
                perSeed.Add(new Row(model, "centre + rotation + codebook", bits, quantizer.BytesPerVector, r.Recall, r.Ndcg, encode, scan));
                if (settings.Rerank > 1)
                {
                    var rr = Score(q => index.Search(queries.Row(q), k, settings.Rerank).Select(h => (int)h.Id).ToArray());
                    perSeed.Add(new Row(model, $"centre + rotation + codebook, re-rank top {k * settings.Rerank}", bits, quantizer.BytesPerVector, rr.Recall, rr.Ndcg, encode, null));
                }
                if (settings.CompareCodebooks)
                {
                    // Without error shaping: the index, then (2 bits and up) the same codes scored with the float query
                    // against extended RaBitQ's codes on the same rotation.
                    var plain = EmbeddingQuantizer.Fit(corpus.Values, n, d, new EmbeddingQuantizerOptions { Bits = bits, Seed = seed, ShapingPasses = 0 });
                    var plainIndex = new QuantizedIndex(plain);
                    plainIndex.Add(corpus.Values);
                    var ps = Score(q => plainIndex.Search(queries.Row(q), k).Select(h => (int)h.Id).ToArray());
                    perSeed.Add(new Row(model, "centre + rotation + codebook, no shaping", bits, plain.BytesPerVector, ps.Recall, ps.Ndcg, null, null));
                    if (bits >= 2)
                    {
                        var (lloyd, lloydConstant) = DecodeAll(plain, corpus);
                        var fl = Score(q => TopByEstimate(queries.Row(q), lloyd, lloydConstant, n, d, k));
                        perSeed.Add(new Row(model, "centre + rotation + codebook, no shaping, float query", bits, plain.BytesPerVector, fl.Recall, fl.Ndcg, null, null));
                        var (ext, extConstant) = ExtendedRaBitQ(plain, corpus, bits);
                        var er = Score(q => TopByEstimate(queries.Row(q), ext, extConstant, n, d, k));
                        perSeed.Add(new Row(model, "centre + rotation + extended RaBitQ, no shaping, float query", bits, plain.BytesPerVector, er.Recall, er.Ndcg, null, null));
                    }
                }
            }
            foreach (var group in perSeed.GroupBy(x => x.Method))
            {
                var g = group.ToArray();
                double? Mean(Func<Row, double?> f) => g.All(x => f(x) is not null) ? g.Average(x => f(x)!.Value) : null;
                yield return g[0] with
                {
                    RecallAt10 = g.Average(x => x.RecallAt10), NdcgAt10 = Mean(x => x.NdcgAt10), EncodeMicrosPerVector = Mean(x => x.EncodeMicrosPerVector),
                    ScanMillionVectorsPerSecond = Mean(x => x.ScanMillionVectorsPerSecond), Seeds = g.Length, RecallAt10PerSeed = g.Select(x => x.RecallAt10).ToArray(),
                };
            }
        }
    }

    /// <summary>The decoded vectors x̂ = μ + R^T f ĉ and per-vector constants h = g - &lt;x̂, μ&gt; + |μ|², so that
    /// &lt;x̂, q&gt; + h is the quantizer's estimate f &lt;ĉ, R (q - μ)&gt; + g + &lt;μ, q&gt; for a float query.</summary>
    private static (float[] Decoded, float[] Constant) DecodeAll(EmbeddingQuantizer quantizer, EmbeddingSet corpus)
    {
        int n = corpus.Count, d = corpus.Dimension;
        var decoded = new float[n * d];
        var constant = new float[n];
        var code = new byte[quantizer.CodeBytes];
        float mu2 = TensorPrimitives.Dot(quantizer.Mean, quantizer.Mean);
        for (int i = 0; i < n; i++)
        {
            quantizer.Encode(corpus.Row(i), code, out float f, out float g);
            var x = decoded.AsSpan(i * d, d);
            quantizer.Decode(code, f, x);
            constant[i] = g - TensorPrimitives.Dot(x, quantizer.Mean) + mu2;
        }
        return (decoded, constant);
    }

    /// <summary>
    /// Extended RaBitQ's codes (Gao et al., 2024) on the quantizer's centring and rotation: per vector, the scale t of
    /// the uniform grid (levels k + 1/2 - 2^(b-1)) that maximises the cosine between the rounded grid point and the
    /// rotated vector y (searched on 400 scales up to the one that fits max |y_i| in the grid), then RaBitQ's factor
    /// f = |y|² / &lt;ĉ, y&gt; and the same offset. Returned as decoded vectors and constants (see <see cref="DecodeAll"/>).
    /// </summary>
    private static (float[] Decoded, float[] Constant) ExtendedRaBitQ(EmbeddingQuantizer quantizer, EmbeddingSet corpus, int bits)
    {
        int n = corpus.Count, d = corpus.Dimension, p = quantizer.PaddedDimension;
        float half = (1 << bits) / 2f;
        var decoded = new float[n * d];
        var constant = new float[n];
        var mean = quantizer.Mean.ToArray();
        Parallel.For(0, n, () => (new float[p], new float[p]), (i, _, buffers) =>
        {
            var (y, c) = buffers;
            y.AsSpan().Clear();
            TensorPrimitives.Subtract(corpus.Row(i), mean, y.AsSpan(0, d));
            quantizer.Rotation.ApplyInPlace(y);
            double norm2 = TensorPrimitives.Dot(y, y);
            float largest = TensorPrimitives.MaxMagnitude(y);
            largest = Math.Abs(largest);
            double bestCos = double.NegativeInfinity;
            float bestT = 0;
            for (int s = 1; s <= 400 && largest > 0; s++)
            {
                float t = half / largest * s / 400f;
                double dot = 0, cc = 0;
                for (int j = 0; j < p; j++)
                {
                    float v = Math.Clamp(MathF.Floor(y[j] * t) + 0.5f, 0.5f - half, half - 0.5f);
                    dot += v * y[j];
                    cc += v * v;
                }
                double cos = dot / Math.Sqrt(cc * norm2);
                if (cos > bestCos) { bestCos = cos; bestT = t; }
            }
            double cy = 0;
            for (int j = 0; j < p; j++)
            {
                c[j] = Math.Clamp(MathF.Floor(y[j] * bestT) + 0.5f, 0.5f - half, half - 0.5f);
                cy += c[j] * y[j];
            }
            float f = cy > 0 ? (float)(norm2 / cy) : 0;
            TensorPrimitives.Multiply(c, f, c);
            quantizer.Rotation.ApplyInverseInPlace(c);
            var x = decoded.AsSpan(i * d, d);
            TensorPrimitives.Add(c.AsSpan(0, d), mean, x);
            // h = g - <x̂, μ> + |μ|² with the quantizer's offset g = <x - μ, μ>.
            constant[i] = TensorPrimitives.Dot(corpus.Row(i), mean) - TensorPrimitives.Dot(x, mean);
            return buffers;
        }, _ => { });
        return (decoded, constant);
    }

    /// <summary>The top <paramref name="k"/> by &lt;x̂_i, q&gt; + h_i, best first.</summary>
    private static int[] TopByEstimate(ReadOnlySpan<float> query, float[] decoded, float[] constant, int n, int d, int k)
    {
        var scores = new float[n];
        for (int i = 0; i < n; i++) scores[i] = TensorPrimitives.Dot(query, decoded.AsSpan(i * d, d)) + constant[i];
        return Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(k).ToArray();
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
