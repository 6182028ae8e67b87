using System.Text;
using System.Text.Json;

namespace MLTransforms.Evaluation;

/// <summary>A matrix of embeddings (row-major, one row per item) with the items' ids.</summary>
/// <param name="Ids">Item ids, one per row.</param>
/// <param name="Values">Rows * Dimension values.</param>
/// <param name="Dimension">Vector length.</param>
/// <param name="Note">Free text stored with the file (dataset, model, recipe).</param>
public sealed record EmbeddingSet(string[] Ids, float[] Values, int Dimension, string Note = "")
{
    /// <summary>Number of rows.</summary>
    public int Count => Ids.Length;

    /// <summary>Row <paramref name="i"/>.</summary>
    public ReadOnlySpan<float> Row(int i) => Values.AsSpan(i * Dimension, Dimension);

    /// <summary>The rows whose ids are listed, in that order.</summary>
    /// <exception cref="KeyNotFoundException">An id is not in the set.</exception>
    public EmbeddingSet Select(IReadOnlyList<string> ids)
    {
        var index = IndexOf();
        var values = new float[ids.Count * Dimension];
        for (int i = 0; i < ids.Count; i++)
        {
            if (!index.TryGetValue(ids[i], out int r))
                throw new KeyNotFoundException($"Id '{ids[i]}' is not in the embedding set ({Note}).");
            Row(r).CopyTo(values.AsSpan(i * Dimension, Dimension));
        }
        return new EmbeddingSet(ids.ToArray(), values, Dimension, Note);
    }

    /// <summary>
    /// The dual-space rows [a_i / |a_i| ; b_i / |b_i|]: a dot product of two such rows is the sum of the two cosine
    /// similarities, so one search over them fuses a search in each space (used for query- plus index-side adapters).
    /// </summary>
    /// <param name="a">First space; its ids are kept.</param>
    /// <param name="b">Second space, the same rows in the same order.</param>
    /// <exception cref="ArgumentException">The sets have different row counts.</exception>
    public static EmbeddingSet Fused(EmbeddingSet a, EmbeddingSet b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count)
            throw new ArgumentException($"Both embedding sets need the same rows: '{a.Note}' has {a.Count}, '{b.Note}' has {b.Count}.", nameof(b));
        int d = a.Dimension + b.Dimension;
        var values = new float[a.Count * d];
        for (int r = 0; r < a.Count; r++)
        {
            var dst = values.AsSpan(r * d, d);
            a.Row(r).CopyTo(dst);
            b.Row(r).CopyTo(dst.Slice(a.Dimension));
            MLTransforms.Embeddings.ExactSearch.NormalizeRows(dst.Slice(0, a.Dimension), 1, a.Dimension);
            MLTransforms.Embeddings.ExactSearch.NormalizeRows(dst.Slice(a.Dimension), 1, b.Dimension);
        }
        return a with { Values = values, Dimension = d };
    }

    /// <summary>A dictionary from id to row.</summary>
    public Dictionary<string, int> IndexOf()
    {
        var d = new Dictionary<string, int>(Ids.Length, StringComparer.Ordinal);
        for (int i = 0; i < Ids.Length; i++) d[Ids[i]] = i;
        return d;
    }
}

/// <summary>Readers (and a writer) for BEIR-style retrieval data and the EMBF32 embedding files.</summary>
public static class RetrievalData
{
    private static readonly byte[] Magic = "EMBF32\0\0"u8.ToArray();

    /// <summary>
    /// Reads an EMBF32 file: "EMBF32\0\0", int32 version (1), rows, dim, note length, UTF-8 note, then rows * dim
    /// little-endian float32; ids come from the sidecar <c>&lt;name&gt;.ids.txt</c> (one per line) when present.
    /// </summary>
    /// <exception cref="InvalidDataException">Bad magic, version, sizes or a truncated file, or an id count that differs from the rows.</exception>
    public static EmbeddingSet ReadEmbeddings(string path, string? idsPath = null)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        var magic = reader.ReadBytes(8);
        if (!magic.AsSpan().SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not an EMBF32 file (magic {Convert.ToHexString(magic)}).");
        int version = reader.ReadInt32(), rows = reader.ReadInt32(), dim = reader.ReadInt32(), noteLen = reader.ReadInt32();
        if (version != 1 || rows < 0 || dim <= 0 || noteLen < 0)
            throw new InvalidDataException($"'{path}': unsupported header (version {version}, rows {rows}, dim {dim}, note {noteLen} bytes); expected version 1 and positive sizes.");
        string note = Encoding.UTF8.GetString(reader.ReadBytes(noteLen));
        var values = new float[checked(rows * dim)];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan());
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) != bytes.Length)
            throw new InvalidDataException($"'{path}' is truncated: expected {rows} x {dim} floats.");
        idsPath ??= Path.ChangeExtension(path, ".ids.txt");
        string[] ids = File.Exists(idsPath) ? File.ReadAllLines(idsPath).Where(l => l.Length > 0).ToArray()
            : Enumerable.Range(0, rows).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (ids.Length != rows)
            throw new InvalidDataException($"'{idsPath}' lists {ids.Length} ids; '{path}' holds {rows} rows.");
        return new EmbeddingSet(ids, values, dim, note);
    }

    /// <summary>Writes <paramref name="set"/> as an EMBF32 file plus its <c>.ids.txt</c> sidecar.</summary>
    public static void WriteEmbeddings(string path, EmbeddingSet set)
    {
        using (var stream = File.Create(path))
        using (var writer = new BinaryWriter(stream))
        {
            var note = Encoding.UTF8.GetBytes(set.Note);
            writer.Write(Magic);
            writer.Write(1);
            writer.Write(set.Count);
            writer.Write(set.Dimension);
            writer.Write(note.Length);
            writer.Write(note);
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(set.Values.AsSpan()));
        }
        File.WriteAllLines(Path.ChangeExtension(path, ".ids.txt"), set.Ids);
    }

    /// <summary>Reads BEIR <c>queries.jsonl</c> ({_id, text}) or <c>corpus.jsonl</c> ({_id, title, text}; title + " " + text).</summary>
    public static IReadOnlyList<(string Id, string Text)> ReadJsonl(string path)
    {
        var items = new List<(string, string)>();
        int line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(raw)) continue;
            using var doc = JsonDocument.Parse(raw);
            var root = doc.RootElement;
            if (!root.TryGetProperty("_id", out var id))
                throw new InvalidDataException($"'{path}' line {line}: no \"_id\".");
            string text = root.TryGetProperty("text", out var t) ? t.GetString() ?? "" : "";
            if (root.TryGetProperty("title", out var title) && title.GetString() is { Length: > 0 } ti)
                text = ti + " " + text;
            items.Add((id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText(), text));
        }
        return items;
    }

    /// <summary>Reads BEIR qrels (query-id TAB corpus-id TAB score, with a header line): relevance grades per query.</summary>
    public static Dictionary<string, Dictionary<string, int>> ReadQrels(string path)
    {
        var qrels = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        int line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            var parts = raw.Split('\t');
            if (parts.Length < 3 || !int.TryParse(parts[2], out int score))
            {
                if (line == 1) continue; // header
                throw new InvalidDataException($"'{path}' line {line}: expected query-id<TAB>corpus-id<TAB>integer score.");
            }
            if (!qrels.TryGetValue(parts[0], out var docs)) qrels[parts[0]] = docs = new(StringComparer.Ordinal);
            docs[parts[1]] = score;
        }
        return qrels;
    }
}
