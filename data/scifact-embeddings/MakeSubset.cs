#:project ../../src/MLTransforms.Evaluation/MLTransforms.Evaluation.csproj
// Writes the SciFact embedding subset of this folder from the full precomputed set (see README.md here).
// Usage: dotnet run data/scifact-embeddings/MakeSubset.cs -- <full scifact folder> <output folder>
using MLTransforms.Embeddings;
using MLTransforms.Evaluation;

string full = args[0], output = args[1];
const int K = 10;
EmbeddingSet E(string name) => RetrievalData.ReadEmbeddings(Path.Combine(full, "embeddings", name + ".f32"));
var qOld = E("queries.minilm");
var qNew = E("queries.arctic-prefix");
var cOld = E("corpus.minilm");
var cNew = E("corpus.arctic");
var test = RetrievalData.ReadQrels(Path.Combine(full, "qrels", "test.tsv"));
var train = RetrievalData.ReadQrels(Path.Combine(full, "qrels", "train.tsv"));

// The fit set of SciFactCompatibilityTests on the full data: the train queries plus every 5th corpus row (first 1,000).
var trainIds = qOld.Ids.Where(train.ContainsKey).ToArray();
var fitDocs = cOld.Ids.Where((_, i) => i % 5 == 0).Take(1000).ToArray();
var pairs = new AdapterPairs(384, 384, folds: 5); // round-robin folds: queries first, then documents
var xq = qNew.Select(trainIds); var yq = qOld.Select(trainIds);
var xd = cNew.Select(fitDocs); var yd = cOld.Select(fitDocs);
for (int i = 0; i < trainIds.Length; i++) pairs.Add(xq.Row(i), yq.Row(i));
for (int i = 0; i < fitDocs.Length; i++) pairs.Add(xd.Row(i), yd.Row(i));
var procrustes = pairs.Fit(new EmbeddingAdapterOptions { Scaling = AdapterScaling.None });
var matched = pairs.Fit(new EmbeddingAdapterOptions());
var index = pairs.Swapped().Fit(new EmbeddingAdapterOptions { Kind = EmbeddingAdapterKind.Ridge });

// Every document that any searched condition ranks in the top K of a test query: with these kept, each condition's
// top K on the subset is its top K on the full corpus, so the test's figures are those of the full data.
var testIds = qOld.Ids.Where(test.ContainsKey).ToArray();
var keep = new HashSet<string>(fitDocs, StringComparer.Ordinal);
foreach (var docs in test.Values) keep.UnionWith(docs.Keys);
void Top(EmbeddingSet queries, EmbeddingSet corpus, bool cosine = true)
{
    var q = queries.Select(testIds);
    var (idx, _) = ExactSearch.TopK(q.Values, q.Count, corpus.Values, corpus.Count, corpus.Dimension, K, cosine);
    foreach (int i in idx) keep.Add(corpus.Ids[i]);
}
Top(qOld, cOld);
Top(qNew, cNew);
Top(procrustes.Apply(qNew, 384), cOld);
Top(matched.Apply(qNew, 384), cOld);
var migrated = index.Apply(cOld, 384);
Top(qNew, migrated);
Top(EmbeddingSet.Fused(matched.Apply(qNew, 384), qNew), EmbeddingSet.Fused(cOld, migrated), cosine: false);
// Row order: the fit documents first (in their full-data order), then the others in full-data order.
var fitSet = new HashSet<string>(fitDocs, StringComparer.Ordinal);
var rows = fitDocs.Concat(cOld.Ids.Where(id => keep.Contains(id) && !fitSet.Contains(id))).ToArray();
Directory.CreateDirectory(Path.Combine(output, "qrels"));
foreach (var (name, set) in new[] { ("corpus.minilm", cOld), ("corpus.arctic", cNew) })
{
    var sub = set.Select(rows);
    RetrievalData.WriteEmbeddings(Path.Combine(output, name + ".f32"), sub with { Note = set.Note + $" | subset: {rows.Length} of {set.Count} rows, see README.md" });
}
// Queries and qrels unchanged (every claim is judged in one of the two qrels files).
void Copy(string from, string to)
{
    File.Copy(from, to, true);
    File.SetAttributes(to, FileAttributes.Normal);
}
foreach (var name in new[] { "queries.minilm", "queries.arctic-prefix" })
    foreach (var ext in new[] { ".f32", ".ids.txt" })
        Copy(Path.Combine(full, "embeddings", name + ext), Path.Combine(output, name + ext));
foreach (var name in new[] { "test.tsv", "train.tsv" })
    Copy(Path.Combine(full, "qrels", name), Path.Combine(output, "qrels", name));
Console.WriteLine($"{rows.Length} of {cOld.Count} corpus rows ({fitDocs.Length} fit documents first)");
