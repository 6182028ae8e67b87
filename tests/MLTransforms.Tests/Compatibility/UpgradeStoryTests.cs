using Microsoft.ML;
using MLTransforms.Embeddings;
using MLTransforms.Evaluation;

namespace MLTransforms.Tests.Compatibility;

/// <summary>Pseudo-queries for query-side fits, and the progressive migration with a residual MLP.</summary>
public class UpgradeStoryTests
{
    [Theory]
    [InlineData("Vitamin D and fractures. Vitamin D deficiency is common. It matters.", "Vitamin D and fractures.")]
    [InlineData("On bones. Vitamin D deficiency is common. It matters.", "On bones. Vitamin D deficiency is common.")]
    [InlineData("A long title about aspirin use in adults? The trial enrolled 40 people.", "A long title about aspirin use in adults?")]
    [InlineData("  Trials, e.g. RCTs, were pooled here. Then more.  ", "Trials, e.g. RCTs, were pooled here.")]
    [InlineData("no sentence end at all", "no sentence end at all")]
    [InlineData("   ", "")]
    public void LeadSentenceEndsAtTheFirstSentenceAfterTwentyCharacters(string text, string expected)
        => Assert.Equal(expected, PseudoQueries.LeadSentence(text));

    [Fact]
    public void LeadSentenceCutsLongTextAtAWordAndRefusesATinyLimit()
    {
        string text = string.Join(" ", Enumerable.Repeat("word", 100));
        string lead = PseudoQueries.LeadSentence(text, maxCharacters: 42);
        Assert.True(lead.Length <= 42, lead);
        Assert.Equal(string.Join(" ", Enumerable.Repeat("word", 8)), lead);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => PseudoQueries.LeadSentence(text, maxCharacters: 19));
        Assert.Equal("maxCharacters", e.ParamName);
    }

    /// <summary>The query-side fit adds one pair per document: its lead sentence, embedded as a query by each model. It
    /// equals the plain fit on exactly those texts.</summary>
    [Fact]
    public async Task QueryAdapterAddsEachDocumentsLeadSentenceAsAQueryPair()
    {
        var docs = Enumerable.Range(0, 40).Select(i => $"Title number {i} of the study. Body {i} describes the trial.").ToArray();
        var oldModel = new HashEmbeddingGenerator(12, salt: 1);
        var newModel = new HashEmbeddingGenerator(16, salt: 2);
        const string NewPrefix = "query: ", OldPrefix = "q> ";
        var adapter = (await EmbeddingGeneratorAdapters.FitQueryAdapterAsync(new MLContext(3), oldModel, newModel, docs, NewPrefix, OldPrefix, batchSize: 9)).Adapter;

        var leads = docs.Select(d => PseudoQueries.LeadSentence(d)).ToArray();
        Assert.Equal($"Title number 0 of the study.", leads[0]);
        Assert.Equal([.. docs, .. leads.Select(l => OldPrefix + l)], oldModel.Seen);
        Assert.Equal([.. docs, .. leads.Select(l => NewPrefix + l)], newModel.Seen);
        var stored = await new HashEmbeddingGenerator(12, salt: 1).GenerateAsync([.. docs, .. leads.Select(l => OldPrefix + l)]);
        var plain = (await EmbeddingGeneratorAdapters.FitAdapterAsync(new MLContext(3), stored, new HashEmbeddingGenerator(16, salt: 2),
            [.. docs, .. leads.Select(l => NewPrefix + l)])).Adapter;
        Assert.Equal(plain.Weights.ToArray(), adapter.Weights.ToArray());
        Assert.Equal(plain.Bias.ToArray(), adapter.Bias.ToArray());

        var empty = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddingGeneratorAdapters.FitQueryAdapterAsync(new MLContext(3), oldModel, newModel, [], NewPrefix));
        Assert.Contains("documents is empty", empty.Message);
    }

    [Fact]
    public void ProgressiveMigrationTrainsAResidualMlpOnTheReembeddedPairs()
    {
        var dir = TestData.Repo("data/scifact-embeddings");
        EmbeddingSet E(string n) => RetrievalData.ReadEmbeddings(Path.Combine(dir, n + ".f32"));
        var (qNew, cOld, cNew) = (E("queries.arctic-prefix"), E("corpus.minilm"), E("corpus.arctic"));
        var qrels = RetrievalData.ReadQrels(Path.Combine(dir, "qrels", "test.tsv"));
        var mlp = new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.ResidualMlp, MaxEpochs = 3 };
        var points = ProgressiveMigration.Evaluate(qNew, cNew, cOld, qrels, [0.5, 1.0], mlp, seed: 4);
        var again = ProgressiveMigration.Evaluate(qNew, cNew, cOld, qrels, [0.5, 1.0], mlp, seed: 4);
        Assert.Equal(points[0].Calibrated, again[0].Calibrated);
        // Everything re-embedded: the mixed index is the new index.
        Assert.Equal(1.0, points[1].Recovery, 3);
        Assert.InRange(points[0].Recovery, 0.5, 1.0);
        Assert.Null(mlp.Seed);

        var statsOnly = new AdapterPairs(384, 384);
        statsOnly.Add(cOld.Row(0), cNew.Row(0));
        var e = Assert.Throws<ArgumentException>(() => ProgressiveMigration.Evaluate(qNew, cNew, cOld, qrels, [0.5], mlp, extraPairs: statsOnly));
        Assert.Contains("keepPairs: true", e.Message);
    }
}
