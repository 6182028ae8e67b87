using MathNet.Numerics.LinearAlgebra;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.TimeSeries;

/// <summary>How the per-channel lag covariance is normalised before channels are averaged.</summary>
public enum OrthoTransNormalization
{
    /// <summary>Temporal Pearson correlation, C_ij / sqrt(C_ii C_jj): symmetric, unit diagonal (the default).</summary>
    Symmetric,

    /// <summary>
    /// The OLinear authors' code: column j divided by C_jj (not exactly symmetric), then the lower triangle is read
    /// as a symmetric matrix (numpy.linalg.eigh). Reproduces their published matrices exactly.
    /// </summary>
    ColumnDiagonal,

    /// <summary>The covariance itself (no normalisation): plain PCA of the windows.</summary>
    None,
}

/// <summary>
/// An OrthoTrans basis (OLinear, Yue et al. 2025, arXiv 2505.08550): the eigenvectors of the temporal correlation
/// matrix of length-L windows, averaged over channels, in order of decreasing eigenvalue. Row i of
/// <see cref="Vectors"/> is the i-th eigenvector p_i; the transform is z = P x (z_i = &lt;p_i, x&gt;, i.e. Q^T x with
/// Q = P^T) and the inverse x = P^T z. P is orthogonal, so the transform preserves norms and squared errors.
/// </summary>
public sealed class OrthoTransBasis
{
    private readonly float[] _vectors;
    private readonly double[] _eigenvalues;

    private OrthoTransBasis(int length, float[] vectors, double[] eigenvalues, int channelsUsed)
    {
        Length = length;
        _vectors = vectors;
        _eigenvalues = eigenvalues;
        ChannelsUsed = channelsUsed;
    }

    /// <summary>Window length L.</summary>
    public int Length { get; }

    /// <summary>The eigenvectors as rows of an L x L row-major matrix P, leading eigenvector first.</summary>
    public ReadOnlySpan<float> Vectors => _vectors;

    /// <summary>Eigenvalues in decreasing order (they sum to L under the unit-diagonal normalisations).</summary>
    public IReadOnlyList<double> Eigenvalues => _eigenvalues;

    /// <summary>Number of channels whose correlation matrices were averaged.</summary>
    public int ChannelsUsed { get; }

    /// <summary>The i-th eigenvector (length L).</summary>
    public ReadOnlySpan<float> Vector(int i) => _vectors.AsSpan(i * Length, Length);

    /// <summary>Smallest k whose leading eigenvalues hold at least <paramref name="fraction"/> of the trace.</summary>
    /// <param name="fraction">In (0, 1].</param>
    public int ComponentsForEnergy(double fraction)
    {
        SchemaChecks.CheckOption(fraction > 0 && fraction <= 1, nameof(fraction), fraction, "in (0, 1]");
        double total = _eigenvalues.Sum(v => Math.Max(v, 0)), acc = 0;
        for (int k = 0; k < Length; k++)
        {
            acc += Math.Max(_eigenvalues[k], 0);
            if (acc >= fraction * total * (1 - 1e-12)) return k + 1;
        }
        return Length;
    }

    /// <summary>Fraction of the trace held by the leading <paramref name="components"/> eigenvalues.</summary>
    public double RetainedEnergy(int components)
        => _eigenvalues.Take(components).Sum(v => Math.Max(v, 0)) / _eigenvalues.Sum(v => Math.Max(v, 0));

    /// <summary>z = P_k x: the leading <paramref name="coefficients"/>.Length coefficients of <paramref name="window"/>.</summary>
    public void Project(ReadOnlySpan<float> window, Span<float> coefficients)
    {
        for (int i = 0; i < coefficients.Length; i++)
            coefficients[i] = System.Numerics.Tensors.TensorPrimitives.Dot(Vector(i), window);
    }

    /// <summary>x = P_k^T z: the window from its leading coefficients (exact when all L are given).</summary>
    public void Reconstruct(ReadOnlySpan<float> coefficients, Span<float> window)
    {
        window.Clear();
        for (int i = 0; i < coefficients.Length; i++)
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(Vector(i), coefficients[i], window, window);
    }

    /// <summary>
    /// Fits the pooled OrthoTrans basis from whole series: for each channel the covariance of all its stride-1
    /// windows of length <paramref name="length"/> (ddof 1), normalised (<paramref name="normalization"/>), channels
    /// with a lag variance below <paramref name="minLagVariance"/> skipped, the rest averaged, then a symmetric
    /// eigendecomposition sorted by decreasing eigenvalue.
    /// </summary>
    /// <param name="channels">One array per channel (e.g. <see cref="ForecastSplit.TrainChannels"/>).</param>
    /// <param name="length">Window length L, positive and at most the channel length - 1.</param>
    /// <param name="normalization">Normalisation of each channel's covariance.</param>
    /// <param name="minLagVariance">Channels with any C_jj below this are skipped (the authors use 1e-4).</param>
    /// <exception cref="ArgumentOutOfRangeException">Bad length or no channels.</exception>
    /// <exception cref="InvalidOperationException">Every channel was skipped (constant data) or values are not finite.</exception>
    public static OrthoTransBasis Fit(IReadOnlyList<float[]> channels, int length,
        OrthoTransNormalization normalization = OrthoTransNormalization.Symmetric, double minLagVariance = 1e-4)
    {
        var (sum, used) = AverageCorrelation(channels, length, normalization, minLagVariance);
        return FromMatrix(sum, length, used, normalization);
    }

    /// <summary>One basis per channel (the per-channel variant of <see cref="Fit"/>; no averaging).</summary>
    /// <exception cref="InvalidOperationException">A channel's lag variance is below <paramref name="minLagVariance"/>.</exception>
    public static OrthoTransBasis[] FitPerChannel(IReadOnlyList<float[]> channels, int length,
        OrthoTransNormalization normalization = OrthoTransNormalization.Symmetric, double minLagVariance = 1e-4)
    {
        ArgumentNullException.ThrowIfNull(channels);
        return channels.Select((c, i) =>
        {
            try { return Fit([c], length, normalization, minLagVariance); }
            catch (InvalidOperationException e) { throw new InvalidOperationException($"Channel {i}: {e.Message}", e); }
        }).ToArray();
    }

    /// <summary>
    /// Fits a basis from a pool of windows (row-major, rows x L), e.g. an ML.NET window column: covariance across
    /// the windows of each channel (all windows one pool when <paramref name="channelOfRow"/> is null), normalised,
    /// averaged over channels, eigendecomposed.
    /// </summary>
    public static OrthoTransBasis FitWindows(ReadOnlySpan<float> windows, int length, ReadOnlySpan<int> channelOfRow = default,
        OrthoTransNormalization normalization = OrthoTransNormalization.Symmetric, double minLagVariance = 1e-4)
    {
        SchemaChecks.CheckOption(length > 0, nameof(length), length, "positive");
        if (windows.Length % length != 0)
            throw new ArgumentException($"Window data holds {windows.Length} values, not a multiple of the window length {length}.", nameof(windows));
        int rows = windows.Length / length;
        if (!channelOfRow.IsEmpty && channelOfRow.Length != rows)
            throw new ArgumentException($"Got {channelOfRow.Length} channel indices for {rows} windows.", nameof(channelOfRow));
        var groups = new Dictionary<int, WindowMoments>();
        for (int r = 0; r < rows; r++)
        {
            int ch = channelOfRow.IsEmpty ? 0 : channelOfRow[r];
            if (!groups.TryGetValue(ch, out var m)) groups[ch] = m = new WindowMoments(length);
            m.Add(windows.Slice(r * length, length));
        }
        var total = new double[length * length];
        int used = 0;
        foreach (var (_, m) in groups.OrderBy(g => g.Key))
        {
            if (m.Count < 2) continue;
            var cov = m.Covariance();
            if (Normalise(cov, length, normalization, minLagVariance))
            {
                for (int i = 0; i < total.Length; i++) total[i] += cov[i];
                used++;
            }
        }
        if (used == 0)
            throw new InvalidOperationException($"No channel has at least two windows with lag variance >= {minLagVariance}: the windows are constant or too few to fit an OrthoTrans basis.");
        for (int i = 0; i < total.Length; i++) total[i] /= used;
        return FromMatrix(total, length, used, normalization);
    }

    /// <summary>Creates a basis from given rows (orthonormal, leading first); for tests and deserialisation.</summary>
    internal static OrthoTransBasis FromVectors(int length, float[] vectors, double[] eigenvalues)
        => new(length, vectors, eigenvalues, 0);

    private static (double[] Sum, int Used) AverageCorrelation(IReadOnlyList<float[]> channels, int length,
        OrthoTransNormalization normalization, double minLagVariance)
    {
        ArgumentNullException.ThrowIfNull(channels);
        SchemaChecks.CheckOption(length > 0, nameof(length), length, "positive");
        if (channels.Count == 0)
            throw new ArgumentOutOfRangeException(nameof(channels), "Got no channels: expected at least one.");
        var total = new double[length * length];
        int used = 0;
        for (int c = 0; c < channels.Count; c++)
        {
            var x = channels[c];
            if (x.Length < length + 1)
                throw new ArgumentOutOfRangeException(nameof(length), length,
                    $"Channel {c} has {x.Length} rows: window length {length} needs at least {length + 1} (two windows).");
            SchemaChecks.CheckFinite(x, $"channel {c}", 0);
            var cov = LaggedCovariance(x, length);
            if (!Normalise(cov, length, normalization, minLagVariance)) continue;
            for (int i = 0; i < total.Length; i++) total[i] += cov[i];
            used++;
        }
        if (used == 0)
            throw new InvalidOperationException($"Every channel has a lag variance below {minLagVariance} (constant data): no OrthoTrans basis can be fitted.");
        for (int i = 0; i < total.Length; i++) total[i] /= used;
        return (total, used);
    }

    /// <summary>
    /// Covariance (ddof 1) of the stride-1 windows of length L of <paramref name="x"/>, in O(n L + L^2): the lagged
    /// Gram G_ij = sum_s x[s+i] x[s+j] satisfies G_{i+1,j+1} = G_ij - x[i] x[j] + x[n+i] x[n+j].
    /// </summary>
    internal static double[] LaggedCovariance(ReadOnlySpan<float> x, int length)
    {
        int n = x.Length - length + 1;
        // Centre first: covariance is shift invariant and the Gram then cancels far less.
        double mu = 0;
        foreach (var v in x) mu += v;
        mu /= x.Length;
        var g = LaggedGram(x, length, mu);
        var means = new double[length];
        double run = 0;
        for (int s = 0; s < n; s++) run += x[s] - mu;
        for (int i = 0; i < length; i++)
        {
            means[i] = run / n;
            if (i + 1 < length) run += (x[n + i] - mu) - (x[i] - mu);
        }
        for (int i = 0; i < length; i++)
            for (int j = 0; j < length; j++)
                g[i * length + j] = (g[i * length + j] - n * means[i] * means[j]) / (n - 1);
        return g;
    }

    /// <summary>Lagged Gram matrix of the windows of <paramref name="x"/> - <paramref name="shift"/> (length L, stride 1).</summary>
    internal static double[] LaggedGram(ReadOnlySpan<float> x, int length, double shift = 0)
    {
        int n = x.Length - length + 1;
        var g = new double[length * length];
        var xd = new double[x.Length];
        for (int i = 0; i < x.Length; i++) xd[i] = x[i] - shift;
        var head = xd.AsSpan(0, n);
        for (int j = 0; j < length; j++)
            g[j] = g[j * length] = System.Numerics.Tensors.TensorPrimitives.Dot(head, xd.AsSpan(j, n));
        for (int i = 1; i < length; i++)
        {
            for (int j = i; j < length; j++)
            {
                double v = g[(i - 1) * length + j - 1] - xd[i - 1] * xd[j - 1] + xd[n + i - 1] * xd[n + j - 1];
                g[i * length + j] = v;
                g[j * length + i] = v;
            }
        }
        return g;
    }

    /// <summary>Normalises in place; false when a lag variance is below the threshold (channel skipped).</summary>
    private static bool Normalise(double[] c, int l, OrthoTransNormalization normalization, double minLagVariance)
    {
        for (int j = 0; j < l; j++)
            if (!(c[j * l + j] >= minLagVariance)) return false;
        switch (normalization)
        {
            case OrthoTransNormalization.Symmetric:
                var d = new double[l];
                for (int i = 0; i < l; i++) d[i] = 1 / Math.Sqrt(c[i * l + i]);
                for (int i = 0; i < l; i++)
                    for (int j = 0; j < l; j++)
                        c[i * l + j] *= d[i] * d[j];
                break;
            case OrthoTransNormalization.ColumnDiagonal:
                var diag = new double[l];
                for (int j = 0; j < l; j++) diag[j] = c[j * l + j];
                for (int i = 0; i < l; i++)
                    for (int j = 0; j < l; j++)
                        c[i * l + j] /= diag[j];
                break;
        }
        return true;
    }

    private static OrthoTransBasis FromMatrix(double[] a, int l, int used, OrthoTransNormalization normalization)
    {
        // eigh reads the lower triangle: mirror it (a no-op for the symmetric normalisations).
        var m = Matrix<double>.Build.Dense(l, l);
        for (int i = 0; i < l; i++)
            for (int j = 0; j <= i; j++)
            {
                double v = normalization == OrthoTransNormalization.ColumnDiagonal ? a[i * l + j] : 0.5 * (a[i * l + j] + a[j * l + i]);
                m[i, j] = v;
                m[j, i] = v;
            }
        var (values, vectors) = SymmetricEigen(m);
        return new OrthoTransBasis(l, vectors, values, used);
    }

    /// <summary>Eigenvalues (descending) and eigenvectors (rows, sign fixed so the largest-magnitude entry is positive).</summary>
    internal static (double[] Values, float[] Rows) SymmetricEigen(Matrix<double> m)
    {
        int l = m.RowCount;
        var evd = m.Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric);
        var order = Enumerable.Range(0, l).OrderByDescending(i => evd.EigenValues[i].Real).ToArray();
        var values = order.Select(i => evd.EigenValues[i].Real).ToArray();
        var rows = new float[l * l];
        for (int r = 0; r < l; r++)
        {
            var v = evd.EigenVectors.Column(order[r]);
            int arg = v.AbsoluteMaximumIndex();
            double sign = v[arg] < 0 ? -1 : 1;
            for (int j = 0; j < l; j++) rows[r * l + j] = (float)(sign * v[j]);
        }
        return (values, rows);
    }

    /// <summary>Running sums for the covariance of a pool of windows.</summary>
    private sealed class WindowMoments(int length)
    {
        private readonly double[] _sum = new double[length];
        private readonly double[] _gram = new double[length * length];
        private readonly double[] _buffer = new double[length];
        private double[]? _shift;

        public int Count { get; private set; }

        public void Add(ReadOnlySpan<float> w)
        {
            // Shift by the first window so the Gram does not cancel catastrophically on raw, offset data.
            _shift ??= w.ToArray().Select(v => (double)v).ToArray();
            var buf = _buffer;
            for (int i = 0; i < length; i++) buf[i] = w[i] - _shift[i];
            for (int i = 0; i < length; i++)
            {
                _sum[i] += buf[i];
                double bi = buf[i];
                if (bi == 0) continue;
                var row = _gram.AsSpan(i * length, length);
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(buf, bi, row, row);
            }
            Count++;
        }

        public double[] Covariance()
        {
            var c = new double[length * length];
            for (int i = 0; i < length; i++)
                for (int j = 0; j < length; j++)
                    c[i * length + j] = (_gram[i * length + j] - _sum[i] * _sum[j] / Count) / (Count - 1);
            return c;
        }
    }
}
