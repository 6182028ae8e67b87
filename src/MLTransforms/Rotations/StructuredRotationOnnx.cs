using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;

namespace MLTransforms.Rotations;

/// <summary>
/// Emits structured rotations into ONNX graphs with standard operators only. The Walsh-Hadamard transform of size
/// p = a b is its Kronecker factorisation H_p = H_a (x) H_b: with x reshaped row-major into an a x b matrix X,
/// reshape(H_p x) = H_a X H_b, i.e. two small MatMuls instead of a dense p x p one.
/// </summary>
internal static class RotationOnnx
{
    /// <summary>
    /// Zero-pads [N, d] to [N, p] and applies every rotation of <paramref name="rotations"/> (equal sizes and block
    /// counts) side by side, each multiplied by <paramref name="outputScale"/>: returns [N, B p], rotation j in
    /// columns j p .. (j + 1) p - 1.
    /// </summary>
    public static string Emit(OnnxGraphBuilder g, string input, IReadOnlyList<StructuredRotation> rotations, float outputScale = 1f)
    {
        var first = rotations[0];
        int d = first.Dimension, p = first.PaddedDimension, count = rotations.Count;
        int log2 = System.Numerics.BitOperations.Log2((uint)p);
        int a = 1 << (log2 / 2), b = p / a;

        string x = input;
        if (p != d)
            x = g.AddNode("Pad", [x, g.AddInitializer("pads", [0L, 0L, 0L, p - d], 4)], ("mode", "constant"));
        // [N, 1, a, b]: the rotations broadcast along axis 1.
        x = g.AddNode("Reshape", [x, g.AddInitializer("shape4", [-1L, 1L, a, b], 4)]);
        for (int block = 0; block < first.Blocks; block++)
        {
            var signs = new float[count * p];
            for (int j = 0; j < count; j++)
                rotations[j].Signs(block).CopyTo(signs.AsSpan(j * p, p));
            x = g.AddNode("Mul", [x, g.AddInitializer($"signs{block}", signs, count, a, b)]);
            float scale = 1f / MathF.Sqrt(b) * (block == first.Blocks - 1 ? outputScale : 1f);
            x = g.AddNode("MatMul", [x, g.AddInitializer($"h{b}", Hadamard(b, scale), b, b)]);
            x = g.AddNode("MatMul", [g.AddInitializer($"h{a}", Hadamard(a, 1f / MathF.Sqrt(a)), a, a), x]);
        }
        return g.AddNode("Reshape", [x, g.AddInitializer("shape2", [-1L, (long)count * p], 2)]);
    }

    /// <summary>The n x n Sylvester Hadamard matrix times <paramref name="scale"/>, row-major.</summary>
    private static float[] Hadamard(int n, float scale = 1f)
    {
        var h = new float[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                h[i * n + j] = (System.Numerics.BitOperations.PopCount((uint)(i & j)) & 1) == 0 ? scale : -scale;
        return h;
    }
}
