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
    private long _count;

    /// <summary>Creates an empty set of pairs.</summary>
    /// <param name="newSize">Dimension of the vectors the adapter maps from (the "new" side).</param>
    /// <param name="oldSize">Dimension of the vectors the adapter maps to (the "old" side).</param>
    /// <param name="folds">Cross-validation folds, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or <paramref name="folds"/> is not positive.</exception>
    public AdapterPairs(int newSize, int oldSize, int folds = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 1);
        _folds = Enumerable.Range(0, folds).Select(_ => new PairedStatistics(newSize, oldSize)).ToArray();
    }

    private AdapterPairs(PairedStatistics[] folds, long count)
    {
        _folds = folds;
        _count = count;
    }

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
        => _folds[_count++ % _folds.Length].Add(newVector, oldVector);

    /// <summary>Adds <paramref name="rows"/> pairs given as row-major matrices.</summary>
    /// <exception cref="ArgumentException">The spans do not hold <paramref name="rows"/> rows of the two sizes.</exception>
    public void AddBatch(ReadOnlySpan<float> newRows, ReadOnlySpan<float> oldRows, int rows)
    {
        if (newRows.Length != (long)rows * NewSize || oldRows.Length != (long)rows * OldSize)
            throw new ArgumentException($"Expected {rows} rows of {NewSize} and {OldSize} values, got {newRows.Length} and {oldRows.Length} values.");
        if (_folds.Length == 1) { _folds[0].AddBatch(newRows, oldRows, rows); _count += rows; return; }
        for (int i = 0; i < rows; i++) Add(newRows.Slice(i * NewSize, NewSize), oldRows.Slice(i * OldSize, OldSize));
    }

    /// <summary>The same pairs with the two sides exchanged (an adapter in the opposite direction).</summary>
    public AdapterPairs Swapped() => new(_folds.Select(f => f.Swapped()).ToArray(), _count);

    /// <summary>Fits an adapter from the "new" side to the "old" side.</summary>
    /// <param name="options">Kind and settings; default: centred Procrustes with spread matching.</param>
    /// <exception cref="InvalidOperationException">Too few pairs for the chosen kind.</exception>
    public EmbeddingAdapterMap Fit(EmbeddingAdapterOptions? options = null) => EmbeddingAdapterFitter.Fit(_folds, options);

    /// <summary>The pairs of every fold merged into one statistic.</summary>
    internal PairedStatistics Merged()
    {
        var all = _folds[0].Clone();
        for (int i = 1; i < _folds.Length; i++) all.Merge(_folds[i]);
        return all;
    }
}
