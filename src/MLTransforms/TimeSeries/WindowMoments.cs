using MathNet.Numerics.LinearAlgebra;

namespace MLTransforms.TimeSeries;

/// <summary>How each window is normalised before a forecaster sees it (the forecast is de-normalised after).</summary>
public enum WindowNormalization
{
    /// <summary>Use the z-scored values as they are.</summary>
    None,

    /// <summary>Subtract the input window's mean from input and target, add it back to the forecast (the default;
    /// the linear part of RevIN). For a linear forecaster without intercept, also dividing by the window's standard
    /// deviation would not change any forecast (the map is scale-equivariant), so it is not offered here.</summary>
    SubtractMean,

    /// <summary>
    /// Subtract the window mean m as in <see cref="SubtractMean"/>, and give m to the model as one more input
    /// coordinate with its own penalty, chosen on validation per output coefficient: a heavy penalty gives
    /// <see cref="SubtractMean"/>, none gives (a reparametrised) plain ridge on the raw window, so the data decides
    /// how much of the level to keep. Not chosen by default: plain validation choices between normalisations have
    /// picked the wrong one for ETTh1's test period.
    /// </summary>
    SubtractMeanKeepLevel,
}

/// <summary>
/// Second moments of training windows w = [x; y] (input T, target H), accumulated in double: the Gram matrix
/// G = sum_w w w^T, from which every ridge fit of this library is solved. Per-window mean removal is a fixed
/// linear map w -> N w, so its moments are N G N^T: no second pass over the data.
/// </summary>
internal sealed class WindowMoments
{
    private readonly double[] _gram;

    public WindowMoments(int lookback, int horizon)
    {
        Lookback = lookback;
        Horizon = horizon;
        _gram = new double[Size * Size];
    }

    public int Lookback { get; }
    public int Horizon { get; }
    public int Size => Lookback + Horizon;
    public long Count { get; private set; }

    /// <summary>Moments of every window of <paramref name="set"/>, in O(rows (T+H) + (T+H)^2) per channel.</summary>
    public static WindowMoments From(WindowSet set)
    {
        var m = new WindowMoments(set.Lookback, set.Horizon);
        for (int c = 0; c < set.ChannelCount; c++)
        {
            var g = OrthoTransBasis.LaggedGram(set.Rows(c), m.Size);
            for (int i = 0; i < g.Length; i++) m._gram[i] += g[i];
        }
        m.Count = set.Count;
        return m;
    }

    /// <summary>Adds a block of windows (rows x (T+H)), row-major, as a rank-k update.</summary>
    public void AddBlock(double[] block, int rows)
    {
        if (rows == 0) return;
        if (block.Length != Size * rows) block = block[..(Size * rows)];
        var b = Matrix<double>.Build.Dense(Size, rows, block); // column-major: each window is a column
        var g = b.TransposeAndMultiply(b);
        for (int i = 0; i < Size; i++)
            for (int j = 0; j < Size; j++)
                _gram[i * Size + j] += g[i, j];
        Count += rows;
    }

    /// <summary>Input features per window under <paramref name="normalization"/>: T, or T + 1 with the level.</summary>
    public static int InputFeatures(int lookback, WindowNormalization normalization)
        => normalization == WindowNormalization.SubtractMeanKeepLevel ? lookback + 1 : lookback;

    /// <summary>The Gram matrix of [inputs; targets] after <paramref name="normalization"/>: (T+H) square, or (T+1+H)
    /// with the window mean as input T under <see cref="WindowNormalization.SubtractMeanKeepLevel"/>.</summary>
    public Matrix<double> Normalised(WindowNormalization normalization)
    {
        int l = Size, t = Lookback;
        var g = Matrix<double>.Build.Dense(l, l, (i, j) => _gram[i * l + j]);
        if (normalization == WindowNormalization.None) return g;
        // w' = w - 1 (a^T w) with a = [1/T ...; 0 ...]: G' = G - 1 u^T - u 1^T + (a^T G a) 1 1^T, u = G a.
        var u = new double[l];
        for (int i = 0; i < l; i++)
        {
            double s = 0;
            for (int j = 0; j < t; j++) s += _gram[i * l + j];
            u[i] = s / t;
        }
        double aga = 0;
        for (int j = 0; j < t; j++) aga += u[j];
        aga /= t;
        for (int i = 0; i < l; i++)
            for (int j = 0; j < l; j++)
                g[i, j] = g[i, j] - u[i] - u[j] + aga;
        if (normalization == WindowNormalization.SubtractMean) return g;
        // E[w' m] = G a - 1 (a^T G a), E[m m] = a^T G a; insert m after the inputs.
        var aug = Matrix<double>.Build.Dense(l + 1, l + 1);
        int Map(int i) => i < t ? i : i + 1;
        for (int i = 0; i < l; i++)
        {
            for (int j = 0; j < l; j++) aug[Map(i), Map(j)] = g[i, j];
            aug[Map(i), t] = aug[t, Map(i)] = u[i] - aga;
        }
        aug[t, t] = aga;
        return aug;
    }
}
