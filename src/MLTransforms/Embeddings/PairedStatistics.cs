using System.Numerics;
using MLTransforms.Core.Numerics;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Embeddings;

/// <summary>
/// Sufficient statistics of paired embeddings (x from the new model, y from the old model of the same item): the
/// count, the means and the centred co-moment matrices X_c^T X_c, Y_c^T Y_c and X_c^T Y_c, in double precision.
/// Every adapter kind fits from these alone, so a fit streams over any number of pairs in O(d^2) memory.
/// </summary>
/// <remarks>
/// Batches are centred on their own mean before their products are formed and then combined with the pairwise
/// update of Chan, Golub &amp; LeVeque (1979): for parts a and b with n = n_a + n_b and delta = mean_b - mean_a,
/// M = M_a + M_b + (n_a n_b / n) delta_x delta_y^T. This is exact in exact arithmetic and avoids the cancellation of
/// the raw sums (the arctic embeddings have a mean cosine of about 0.6, so raw second moments lose digits).
/// Not thread-safe while accumulating; merge per-thread instances with <see cref="Merge"/>.
/// </remarks>
internal sealed class PairedStatistics
{
    private readonly double[] _meanX, _meanY, _sxx, _syy, _sxy;
    private double _sumNormX, _sumNormY;
    private long _count;
    private float[]? _pendingX, _pendingY;
    private int _pending;

    /// <summary>Creates empty statistics for new-model vectors of <paramref name="newSize"/> and old-model vectors of <paramref name="oldSize"/>.</summary>
    public PairedStatistics(int newSize, int oldSize)
    {
        SchemaChecks.CheckOption(newSize > 0, nameof(newSize), newSize, "positive");
        SchemaChecks.CheckOption(oldSize > 0, nameof(oldSize), oldSize, "positive");
        NewSize = newSize;
        OldSize = oldSize;
        _meanX = new double[newSize];
        _meanY = new double[oldSize];
        _sxx = new double[newSize * newSize];
        _syy = new double[oldSize * oldSize];
        _sxy = new double[newSize * oldSize];
    }

    private PairedStatistics(PairedStatistics s, bool swap)
    {
        NewSize = swap ? s.OldSize : s.NewSize;
        OldSize = swap ? s.NewSize : s.OldSize;
        _count = s._count;
        _meanX = (double[])(swap ? s._meanY : s._meanX).Clone();
        _meanY = (double[])(swap ? s._meanX : s._meanY).Clone();
        _sxx = (double[])(swap ? s._syy : s._sxx).Clone();
        _syy = (double[])(swap ? s._sxx : s._syy).Clone();
        _sumNormX = swap ? s._sumNormY : s._sumNormX;
        _sumNormY = swap ? s._sumNormX : s._sumNormY;
        if (!swap)
            _sxy = (double[])s._sxy.Clone();
        else
        {
            _sxy = new double[NewSize * OldSize];
            for (int i = 0; i < s.NewSize; i++)
                for (int j = 0; j < s.OldSize; j++)
                    _sxy[j * OldSize + i] = s._sxy[i * s.OldSize + j];
        }
    }

    /// <summary>Length of the new-model (input) vectors x.</summary>
    public int NewSize { get; }

    /// <summary>Length of the old-model (target) vectors y.</summary>
    public int OldSize { get; }

    /// <summary>Number of pairs added (buffered ones included).</summary>
    public long Count => _count + _pending;

    /// <summary>Mean of x.</summary>
    public ReadOnlySpan<double> MeanNew { get { Flush(); return _meanX; } }

    /// <summary>Mean of y.</summary>
    public ReadOnlySpan<double> MeanOld { get { Flush(); return _meanY; } }

    /// <summary>Centred co-moment X_c^T X_c (NewSize x NewSize, row-major); divide by <see cref="Count"/> for the covariance.</summary>
    public ReadOnlySpan<double> NewNew { get { Flush(); return _sxx; } }

    /// <summary>Centred co-moment Y_c^T Y_c (OldSize x OldSize, row-major).</summary>
    public ReadOnlySpan<double> OldOld { get { Flush(); return _syy; } }

    /// <summary>Centred cross co-moment X_c^T Y_c (NewSize x OldSize, row-major).</summary>
    public ReadOnlySpan<double> NewOld { get { Flush(); return _sxy; } }

    /// <summary>Mean Euclidean norm of the raw x vectors.</summary>
    public double MeanNormNew { get { Flush(); return _count == 0 ? 0 : _sumNormX / _count; } }

    /// <summary>Mean Euclidean norm of the raw y vectors.</summary>
    public double MeanNormOld { get { Flush(); return _count == 0 ? 0 : _sumNormY / _count; } }

    /// <summary>The same statistics with the roles of the two models exchanged (to fit old -> new maps).</summary>
    public PairedStatistics Swapped() { Flush(); return new(this, swap: true); }

    /// <summary>A deep copy.</summary>
    public PairedStatistics Clone() { Flush(); return new(this, swap: false); }

    /// <summary>Pairs are accumulated in blocks of this many, whichever way they were handed in.</summary>
    internal const int Block = 256;

    /// <summary>
    /// Adds one pair. Pairs wait in a buffer and enter the statistics in blocks of <see cref="Block"/>, so the
    /// statistics (to the last bit) depend only on the sequence of pairs, not on how it was split into calls: the
    /// estimator, <c>AdapterPairs</c> and direct callers fit bit-identical maps from the same pairs.
    /// </summary>
    /// <exception cref="ArgumentException">A vector has the wrong length.</exception>
    /// <exception cref="InvalidOperationException">A value is NaN or infinite, or a vector is all zeros.</exception>
    public void Add(ReadOnlySpan<float> newVector, ReadOnlySpan<float> oldVector)
    {
        if (newVector.Length != NewSize)
            throw new ArgumentException($"The new-model vector has {newVector.Length} values; expected {NewSize}.", nameof(newVector));
        if (oldVector.Length != OldSize)
            throw new ArgumentException($"The old-model vector has {oldVector.Length} values; expected {OldSize}.", nameof(oldVector));
        CheckRow(newVector, "new-model", Count);
        CheckRow(oldVector, "old-model", Count);
        _pendingX ??= new float[Block * NewSize];
        _pendingY ??= new float[Block * OldSize];
        newVector.CopyTo(_pendingX.AsSpan(_pending * NewSize));
        oldVector.CopyTo(_pendingY.AsSpan(_pending * OldSize));
        if (++_pending == Block) Flush();
    }

    /// <summary>Adds <paramref name="rows"/> pairs given as row-major matrices (rows x <see cref="NewSize"/> and
    /// rows x <see cref="OldSize"/>); the same as adding them one by one.</summary>
    /// <exception cref="ArgumentException">The spans do not hold <paramref name="rows"/> rows of the expected sizes.</exception>
    /// <exception cref="InvalidOperationException">A value is NaN or infinite, or a vector is all zeros (naming the row).</exception>
    public void AddBatch(ReadOnlySpan<float> newRows, ReadOnlySpan<float> oldRows, int rows)
    {
        if (rows < 0 || newRows.Length != (long)rows * NewSize)
            throw new ArgumentException($"New-model rows hold {newRows.Length} values; expected {rows} x {NewSize}.", nameof(newRows));
        if (oldRows.Length != (long)rows * OldSize)
            throw new ArgumentException($"Old-model rows hold {oldRows.Length} values; expected {rows} x {OldSize}.", nameof(oldRows));
        for (int r = 0; r < rows; r++)
            Add(newRows.Slice(r * NewSize, NewSize), oldRows.Slice(r * OldSize, OldSize));
    }

    /// <summary>Moves the buffered pairs into the statistics: the block is centred on its own mean, its products
    /// formed and the result combined with the rest.</summary>
    private void Flush()
    {
        int m = _pending;
        if (m == 0) return;
        _pending = 0;
        var xs = _pendingX.AsSpan(0, m * NewSize);
        var ys = _pendingY.AsSpan(0, m * OldSize);
        var xc = new double[m * NewSize];
        var yc = new double[m * OldSize];
        var mx = new double[NewSize];
        var my = new double[OldSize];
        double normX = 0, normY = 0;
        for (int r = 0; r < m; r++)
        {
            normX += Accumulate(xs.Slice(r * NewSize, NewSize), mx);
            normY += Accumulate(ys.Slice(r * OldSize, OldSize), my);
        }
        for (int i = 0; i < NewSize; i++) mx[i] /= m;
        for (int j = 0; j < OldSize; j++) my[j] /= m;
        for (int r = 0; r < m; r++)
        {
            for (int i = 0; i < NewSize; i++) xc[r * NewSize + i] = xs[r * NewSize + i] - mx[i];
            for (int j = 0; j < OldSize; j++) yc[r * OldSize + j] = ys[r * OldSize + j] - my[j];
        }
        // X_cᵀ X_c etc. as row-major products of the transposed block (SIMD tiles, rows of the result in parallel).
        var xt = DenseMath.Transpose(xc, m, NewSize);
        var yt = DenseMath.Transpose(yc, m, OldSize);
        var bxx = DenseMath.Multiply(xt, xc, NewSize, m, NewSize);
        var byy = DenseMath.Multiply(yt, yc, OldSize, m, OldSize);
        var bxy = DenseMath.Multiply(xt, yc, NewSize, m, OldSize);
        Combine(m, mx, my, bxx, byy, bxy, normX, normY);
    }

    /// <summary>Adds the pairs accumulated in <paramref name="other"/> (e.g. another batch or thread) to these.</summary>
    /// <exception cref="ArgumentException">The vector sizes differ.</exception>
    public void Merge(PairedStatistics other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.NewSize != NewSize || other.OldSize != OldSize)
            throw new ArgumentException($"Cannot merge statistics of sizes ({other.NewSize}, {other.OldSize}) into ({NewSize}, {OldSize}).", nameof(other));
        Flush();
        other.Flush();
        if (other._count == 0) return;
        Combine(other._count, other._meanX, other._meanY, other._sxx, other._syy, other._sxy, other._sumNormX, other._sumNormY);
    }

    private void Combine(long nb, double[] mx, double[] my, double[]? bxx, double[]? byy, double[]? bxy, double normX, double normY)
    {
        long na = _count;
        double n = na + nb, f = na * (double)nb / n;
        var dx = new double[NewSize];
        var dy = new double[OldSize];
        for (int i = 0; i < NewSize; i++) dx[i] = mx[i] - _meanX[i];
        for (int j = 0; j < OldSize; j++) dy[j] = my[j] - _meanY[j];
        AddOuter(_sxx, bxx, dx, dx, f);
        AddOuter(_syy, byy, dy, dy, f);
        AddOuter(_sxy, bxy, dx, dy, f);
        for (int i = 0; i < NewSize; i++) _meanX[i] += dx[i] * nb / n;
        for (int j = 0; j < OldSize; j++) _meanY[j] += dy[j] * nb / n;
        _sumNormX += normX;
        _sumNormY += normY;
        _count = na + nb;
    }

    private static void AddOuter(double[] target, double[]? part, double[] a, double[] b, double f)
    {
        int cols = b.Length;
        for (int i = 0; i < a.Length; i++)
        {
            var row = target.AsSpan(i * cols, cols);
            if (part is not null)
                System.Numerics.Tensors.TensorPrimitives.Add<double>(row, part.AsSpan(i * cols, cols), row);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<double>(b, a[i] * f, row, row);
        }
    }

    private static void CheckRow(ReadOnlySpan<float> row, string side, long index)
    {
        double sq = 0;
        for (int i = 0; i < row.Length; i++)
        {
            float v = row[i];
            if (!float.IsFinite(v))
                throw new InvalidOperationException($"The {side} vector of pair {index} holds {v} at slot {i}: expected finite values.");
            sq += (double)v * v;
        }
        if (sq == 0)
            throw new InvalidOperationException($"The {side} vector of pair {index} is all zeros: a zero embedding has no direction; drop or re-embed that item.");
    }

    /// <summary>Adds the row to <paramref name="sum"/>; returns its Euclidean norm.</summary>
    private static double Accumulate(ReadOnlySpan<float> row, double[] sum)
    {
        double sq = 0;
        for (int i = 0; i < row.Length; i++)
        {
            sq += (double)row[i] * row[i];
            sum[i] += row[i];
        }
        return Math.Sqrt(sq);
    }
}
