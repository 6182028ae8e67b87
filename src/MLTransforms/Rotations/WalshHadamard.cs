using System.Numerics;

namespace MLTransforms.Rotations;

/// <summary>
/// In-place fast Walsh-Hadamard transform (FWHT) over spans whose length is a power of two.
/// </summary>
/// <remarks>
/// Computes x &lt;- H x with H the Sylvester-ordered Hadamard matrix (entries +-1, H H = d I), in d log2 d
/// additions. With <c>normalize</c>, the result is scaled by 1/sqrt(d) so the transform is orthonormal and its
/// own inverse.
/// </remarks>
public static class WalshHadamard
{
    /// <summary>Largest supported log2 of the length.</summary>
    public const int MaxLog2Length = 24;

    /// <summary>Transforms <paramref name="data"/> in place.</summary>
    /// <param name="data">Values; the length must be a power of two, 1 .. 2^24.</param>
    /// <param name="normalize">Scale by 1/sqrt(length) (orthonormal transform).</param>
    public static void Transform(Span<float> data, bool normalize = false)
    {
        CheckLength(data.Length);
        int n = data.Length;
        for (int h = 1; h < n; h <<= 1)
            for (int i = 0; i < n; i += h << 1)
                for (int j = i; j < i + h; j++)
                {
                    float a = data[j], b = data[j + h];
                    data[j] = a + b;
                    data[j + h] = a - b;
                }
        if (normalize)
            System.Numerics.Tensors.TensorPrimitives.Multiply(data, 1f / MathF.Sqrt(n), data);
    }

    /// <summary>
    /// Fused sign flip, transform and scaling, in place: x &lt;- scale * H (signs (.) x), where (.) is the elementwise
    /// product. One block of a structured rotation H D is <c>Transform(x, d, 1 / sqrt(n))</c>.
    /// </summary>
    /// <param name="data">Values; the length must be a power of two, 1 .. 2^24.</param>
    /// <param name="signs">Diagonal applied before the transform (usually +-1), same length as <paramref name="data"/>.</param>
    /// <param name="scale">Factor applied after the transform.</param>
    public static void Transform(Span<float> data, ReadOnlySpan<float> signs, float scale)
    {
        if (signs.Length != data.Length)
            throw new ArgumentException($"Sign diagonal has {signs.Length} values; expected {data.Length} (the data length).", nameof(signs));
        System.Numerics.Tensors.TensorPrimitives.Multiply(data, signs, data);
        Transform(data);
        if (scale != 1f)
            System.Numerics.Tensors.TensorPrimitives.Multiply(data, scale, data);
    }

    /// <summary>Smallest power of two that is at least <paramref name="size"/>.</summary>
    public static int PaddedLength(int size)
    {
        SchemaChecks.CheckOption(size > 0 && size <= 1 << MaxLog2Length, nameof(size), size, $"in 1..{1 << MaxLog2Length}");
        return (int)BitOperations.RoundUpToPowerOf2((uint)size);
    }

    private static void CheckLength(int length)
    {
        if (length < 1 || length > 1 << MaxLog2Length || !BitOperations.IsPow2(length))
            throw new ArgumentException($"Walsh-Hadamard length must be a power of two in 1..2^{MaxLog2Length}; got {length}.", "data");
    }
}
