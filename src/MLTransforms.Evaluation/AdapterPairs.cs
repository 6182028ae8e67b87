using MLTransforms.Embeddings;

namespace MLTransforms.Evaluation;

/// <summary>
/// Paired vectors of the same items under two embedding models, kept as per-fold sufficient statistics (means and
/// cross-products, O(d²) memory) so that an evaluation sweep reads the pairs once and fits many adapter settings.
/// In a pipeline, use <c>mlContext.Transforms.EmbeddingAdapter</c> instead; both fit the same maps.
/// </summary>
/// <remarks>Pair i goes to fold i mod <see cref="Folds"/>, as the estimator assigns rows; the folds choose the
/// cross-validated penalty of the ridge kinds.</remarks>
public sealed class AdapterPairs
{
    private readonly PairedStatistics[] _folds;
    private readonly List<float>? _new, _old;
    private long _count;

    /// <summary>Creates an empty set of pairs.</summary>
    /// <param name="newSize">Dimension of the vectors the adapter maps from (the "new" side).</param>
    /// <param name="oldSize">Dimension of the vectors the adapter maps to (the "old" side).</param>
    /// <param name="folds">Cross-validation folds, at least 1.</param>
    /// <param name="keepPairs">Also keep the pairs themselves (O(n d) memory), which
    /// <see cref="EmbeddingAdapterKind.ResidualMlp"/> trains on. Default false: statistics only.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or <paramref name="folds"/> is not positive.</exception>
    public AdapterPairs(int newSize, int oldSize, int folds = 5, bool keepPairs = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 1);
        _folds = Enumerable.Range(0, folds).Select(_ => new PairedStatistics(newSize, oldSize)).ToArray();
        if (keepPairs) (_new, _old) = ([], []);
    }

    private AdapterPairs(PairedStatistics[] folds, long count, List<float>? newRows, List<float>? oldRows)
    {
        _folds = folds;
        _count = count;
        (_new, _old) = (newRows, oldRows);
    }

    /// <summary>Whether the pairs themselves are kept (see the constructor's <c>keepPairs</c>).</summary>
    public bool KeepsPairs => _new is not null;

    /// <summary>Number of folds.</summary>
    public int Folds => _folds.Length;

    /// <summary>Number of pairs added.</summary>
    public long Count => _count;

    /// <summary>Dimension of the "new" side.</summary>
    public int NewSize => _folds[0].NewSize;

    /// <summary>Dimension of the "old" side.</summary>
    public int OldSize => _folds[0].OldSize;

    /// <summary>Adds one pair: the same item's vector from each model.</summary>
    /// <exception cref="ArgumentException">A vector has the wrong size or holds NaN or infinity.</exception>
    public void Add(ReadOnlySpan<float> newVector, ReadOnlySpan<float> oldVector)
    {
        _folds[_count % _folds.Length].Add(newVector, oldVector);
        _count++;
        _new?.AddRange(newVector);
        _old?.AddRange(oldVector);
    }

    /// <summary>Adds <paramref name="rows"/> pairs given as row-major matrices.</summary>
    /// <exception cref="ArgumentException">The spans do not hold <paramref name="rows"/> rows of the two sizes.</exception>
    public void AddBatch(ReadOnlySpan<float> newRows, ReadOnlySpan<float> oldRows, int rows)
    {
        if (newRows.Length != (long)rows * NewSize || oldRows.Length != (long)rows * OldSize)
            throw new ArgumentException($"Expected {rows} rows of {NewSize} and {OldSize} values, got {newRows.Length} and {oldRows.Length} values.");
        for (int i = 0; i < rows; i++) Add(newRows.Slice(i * NewSize, NewSize), oldRows.Slice(i * OldSize, OldSize));
    }

    /// <summary>The same pairs with the two sides exchanged (an adapter in the opposite direction).</summary>
    public AdapterPairs Swapped() => new(_folds.Select(f => f.Swapped()).ToArray(), _count, _old is null ? null : [.. _old], _new is null ? null : [.. _new]);

    /// <summary>
    /// Fits an adapter from the "new" side to the "old" side: the same map as the estimator fits from the same pairs
    /// in the same order (bit for bit, given the same options and, for <see cref="EmbeddingAdapterKind.ResidualMlp"/>, seed).
    /// </summary>
    /// <param name="options">Kind and settings; default: centred Procrustes with spread matching. A residual MLP
    /// with a null <see cref="EmbeddingAdapterOptions.Seed"/> draws a fresh seed (reported in the map's diagnostics).</param>
    /// <param name="log">Receives the residual MLP's log lines (linear start, epochs), or null.</param>
    /// <exception cref="InvalidOperationException">Too few pairs for the chosen kind, or a residual MLP on pairs created without <c>keepPairs</c>.</exception>
    public EmbeddingAdapterMap Fit(EmbeddingAdapterOptions? options = null, Action<string>? log = null)
    {
        if (options?.Kind != EmbeddingAdapterKind.ResidualMlp || _new is null)
            return EmbeddingAdapterFitter.Fit(_folds, options);
        var o = options.Clone();
        o.Seed ??= Random.Shared.Next();
        o.Validate();
        return ResidualMlp.Fit(_new.ToArray(), _old!.ToArray(), checked((int)_count), NewSize, OldSize, o,
            log is null ? null : m => log(FormattableString.Invariant(m)));
    }

    /// <summary>Adds every kept pair of this set to <paramref name="target"/>, in order.</summary>
    internal void AddTo(AdapterPairs target)
    {
        if (_new is null) throw new InvalidOperationException("These pairs were created without keepPairs, so only their statistics are kept.");
        var news = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_new);
        var olds = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_old);
        for (int i = 0; i < _count; i++)
            target.Add(news.Slice(i * NewSize, NewSize), olds.Slice(i * OldSize, OldSize));
    }

    /// <summary>The pairs of every fold merged into one statistic.</summary>
    internal PairedStatistics Merged()
    {
        var all = _folds[0].Clone();
        for (int i = 1; i < _folds.Length; i++) all.Merge(_folds[i]);
        return all;
    }
}
