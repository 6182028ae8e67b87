namespace MLTransforms.Tests.Quantization;

/// <summary>Synthetic embeddings shaped like sentence embeddings: unit vectors around a shared mean direction
/// (anisotropic, as real models are), in clusters, so nearest neighbours are meaningful.</summary>
internal static class QuantizationTestData
{
    public static float[] SyntheticEmbeddings(int rows, int dim, int seed, double meanWeight = 0.7, int clusters = 20)
    {
        var rng = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var common = Unit(Enumerable.Range(0, dim).Select(_ => Gauss()).ToArray());
        var centres = Enumerable.Range(0, clusters).Select(_ => Unit(Enumerable.Range(0, dim).Select(_ => Gauss()).ToArray())).ToArray();
        var result = new float[rows * dim];
        for (int r = 0; r < rows; r++)
        {
            var c = centres[rng.Next(clusters)];
            var v = new double[dim];
            for (int i = 0; i < dim; i++) v[i] = meanWeight * common[i] + 0.5 * c[i] + 0.6 * Gauss() / Math.Sqrt(dim);
            var u = Unit(v);
            for (int i = 0; i < dim; i++) result[r * dim + i] = (float)u[i];
        }
        return result;
    }

    public static double[] Unit(double[] v)
    {
        double n = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / n).ToArray();
    }

    public static ReadOnlySpan<float> Row(float[] rows, int dim, int r) => rows.AsSpan(r * dim, dim);

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }
}
