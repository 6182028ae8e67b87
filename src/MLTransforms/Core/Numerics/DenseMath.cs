using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace MLTransforms.Core.Numerics;

/// <summary>
/// The library's double-precision dense products (row-major arrays), the counterpart of <see cref="Gemm"/> for the
/// adapter fits' moment matrices and optimiser: MathNet's managed provider is an order of magnitude slower at d = 384.
/// Factorisations (Cholesky, symmetric eigendecomposition, SVD) and small products stay with MathNet.
/// </summary>
internal static class DenseMath
{
    /// <summary>C (m x n) = A (m x k) B (k x n), row-major; tiles of 4 rows x 16 columns, 512-bit SIMD where available, rows in parallel.</summary>
    public static double[] Multiply(double[] a, double[] b, int m, int k, int n)
    {
        var c = new double[m * n];
        int tiles = (m + 3) / 4;
        if ((long)m * k * n < 1 << 18)
            for (int t = 0; t < tiles; t++) Tile(a, b, c, t * 4, Math.Min(4, m - t * 4), k, n);
        else
            Parallel.For(0, tiles, t => Tile(a, b, c, t * 4, Math.Min(4, m - t * 4), k, n));
        return c;
    }

    /// <summary>C (m x n) = A^T B for A (k x m), B (k x n).</summary>
    public static double[] TransposeMultiply(double[] a, double[] b, int k, int m, int n) => Multiply(Transpose(a, k, m), b, m, k, n);

    /// <summary>The transpose of the leading rows x cols matrix of <paramref name="a"/>.</summary>
    public static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[cols * rows];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                t[j * rows + i] = a[i * cols + j];
        return t;
    }

    /// <summary>The inner product of two equally long arrays (Frobenius inner product of same-shape matrices).</summary>
    public static double Dot(double[] a, double[] b) => TensorPrimitives.Dot<double>(a, b);

    private static void Tile(double[] a, double[] b, double[] c, int r0, int rows, int k, int n)
    {
        int col = 0;
        if (rows == 4 && Vector512.IsHardwareAccelerated)
        {
            var bs = b.AsSpan();
            for (; col + 16 <= n; col += 16)
            {
                Vector512<double> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
                int a0 = r0 * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
                for (int p = 0; p < k; p++)
                {
                    var w0 = Vector512.Create<double>(bs.Slice(p * n + col, 8));
                    var w1 = Vector512.Create<double>(bs.Slice(p * n + col + 8, 8));
                    var s0 = Vector512.Create(a[a0 + p]);
                    var s1 = Vector512.Create(a[a1 + p]);
                    var s2 = Vector512.Create(a[a2 + p]);
                    var s3 = Vector512.Create(a[a3 + p]);
                    c00 = Vector512.FusedMultiplyAdd(s0, w0, c00); c01 = Vector512.FusedMultiplyAdd(s0, w1, c01);
                    c10 = Vector512.FusedMultiplyAdd(s1, w0, c10); c11 = Vector512.FusedMultiplyAdd(s1, w1, c11);
                    c20 = Vector512.FusedMultiplyAdd(s2, w0, c20); c21 = Vector512.FusedMultiplyAdd(s2, w1, c21);
                    c30 = Vector512.FusedMultiplyAdd(s3, w0, c30); c31 = Vector512.FusedMultiplyAdd(s3, w1, c31);
                }
                var cs = c.AsSpan();
                c00.CopyTo(cs.Slice(r0 * n + col)); c01.CopyTo(cs.Slice(r0 * n + col + 8));
                c10.CopyTo(cs.Slice((r0 + 1) * n + col)); c11.CopyTo(cs.Slice((r0 + 1) * n + col + 8));
                c20.CopyTo(cs.Slice((r0 + 2) * n + col)); c21.CopyTo(cs.Slice((r0 + 2) * n + col + 8));
                c30.CopyTo(cs.Slice((r0 + 3) * n + col)); c31.CopyTo(cs.Slice((r0 + 3) * n + col + 8));
            }
        }
        if (col == n) return;
        for (int r = r0; r < r0 + rows; r++)
        {
            var cr = c.AsSpan(r * n + col, n - col);
            for (int p = 0; p < k; p++)
                TensorPrimitives.MultiplyAdd<double>(b.AsSpan(p * n + col, n - col), a[r * k + p], cr, cr);
        }
    }
}
