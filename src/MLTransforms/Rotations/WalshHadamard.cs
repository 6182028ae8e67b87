using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Rotations;

/// <summary>
/// In-place fast Walsh-Hadamard transform (FWHT) over spans whose length is a power of two.
/// </summary>
/// <remarks>
/// <para>
/// Computes x &lt;- H_d x with H_d the Sylvester-ordered Hadamard matrix: H_1 = [1], H_{2n} = [[H_n, H_n], [H_n, -H_n]],
/// so H_d[i, j] = (-1)^popcount(i &amp; j). H_d is symmetric with H_d H_d = d I; with the orthonormal scaling
/// 1/sqrt(d) the transform is a rotation (norm preserving) and its own inverse. The fast transform does log2 d stages
/// of d/2 butterflies (a, b) -> (a + b, a - b): d log2 d additions and no multiplications.
/// </para>
/// <para>
/// The kernels follow the structure of FFHT (Andoni, Indyk, Laarhoven, Razenshteyn and Schmidt 2015, "Practical and
/// Optimal LSH for Angular Distance"): the stages inside one SIMD register are done with shuffles and a multiply-add
/// by a +-1 pattern, the stages across registers in passes that load up to 16 registers, do up to four stages on
/// them and store them back, and rows longer than L2 are transformed block by block before the stages that span
/// blocks. Because the stages commute, a pass may take any set of them; the passes are chosen to be as few as
/// possible while keeping few 4 KB-strided streams per pass (they share one L1 set). The sign flip is fused into the
/// first pass and the scaling into the last. Vector512, Vector256 and Vector128 paths and a scalar fallback are chosen
/// at run time and agree to float rounding. The kernels are single-threaded and allocate nothing. With Vector512,
/// 64-byte aligned data (e.g. a pinned array sliced to a 64-byte boundary) is 10-30% faster than an ordinary array.
/// </para>
/// </remarks>
public static partial class WalshHadamard
{
    /// <summary>Largest supported log2 of the length.</summary>
    public const int MaxLog2Length = 24;

    /// <summary>Transforms <paramref name="data"/> in place: x &lt;- H x, or x &lt;- H x / sqrt(d) when normalized.</summary>
    /// <param name="data">Values; the length d must be a power of two, 1 .. 2^24.</param>
    /// <param name="normalize">Scale by 1/sqrt(d) (orthonormal transform, its own inverse).</param>
    /// <exception cref="ArgumentException">The length is not a power of two in 1 .. 2^24.</exception>
    public static void Transform(Span<float> data, bool normalize = false)
    {
        CheckLength(data.Length, nameof(data));
        Run(data, data.Length, default, false, ScaleOf(data.Length, normalize), SimdPath.Auto);
    }

    /// <summary>
    /// Fused sign flip, transform and scaling, in place: x &lt;- scale * H (signs (.) x), where (.) is the elementwise
    /// product. One block of a structured rotation H D / sqrt(d) is <c>Transform(x, d, 1 / sqrt(d))</c>. The sign flip
    /// is done in the first pass over the data and the scaling in the last one, so it costs no extra pass.
    /// </summary>
    /// <param name="data">Values; the length d must be a power of two, 1 .. 2^24.</param>
    /// <param name="signs">Diagonal applied before the transform (usually +-1), same length as <paramref name="data"/>.</param>
    /// <param name="scale">Factor applied after the transform.</param>
    /// <exception cref="ArgumentException">The length is not a power of two in 1 .. 2^24, or the lengths differ.</exception>
    public static void Transform(Span<float> data, ReadOnlySpan<float> signs, float scale)
    {
        CheckLength(data.Length, nameof(data));
        CheckSigns(signs.Length, data.Length);
        Run(data, data.Length, signs, true, scale, SimdPath.Auto);
    }

    /// <summary>
    /// Transforms every row of a row-major matrix in place: each row r &lt;- H r, or H r / sqrt(d) when normalized.
    /// Single-threaded; callers that want parallelism split the rows.
    /// </summary>
    /// <param name="matrix">Rows of <paramref name="rowLength"/> values each, stored one after another.</param>
    /// <param name="rowLength">Row length d, a power of two in 1 .. 2^24.</param>
    /// <param name="normalize">Scale by 1/sqrt(d).</param>
    /// <exception cref="ArgumentException">The row length is not a power of two in 1 .. 2^24, or it does not divide the matrix length.</exception>
    public static void TransformRows(Span<float> matrix, int rowLength, bool normalize = false)
    {
        CheckRows(matrix.Length, rowLength);
        Run(matrix, rowLength, default, false, ScaleOf(rowLength, normalize), SimdPath.Auto);
    }

    /// <summary>
    /// Fused form over every row of a row-major matrix, in place: each row r &lt;- scale * H (signs (.) r), the same
    /// diagonal for every row.
    /// </summary>
    /// <param name="matrix">Rows of <paramref name="rowLength"/> values each, stored one after another.</param>
    /// <param name="rowLength">Row length d, a power of two in 1 .. 2^24.</param>
    /// <param name="signs">Diagonal applied before the transform, <paramref name="rowLength"/> values.</param>
    /// <param name="scale">Factor applied after the transform.</param>
    /// <exception cref="ArgumentException">Bad row length, a row length that does not divide the matrix length, or a sign diagonal of another length.</exception>
    public static void TransformRows(Span<float> matrix, int rowLength, ReadOnlySpan<float> signs, float scale)
    {
        CheckRows(matrix.Length, rowLength);
        CheckSigns(signs.Length, rowLength);
        Run(matrix, rowLength, signs, true, scale, SimdPath.Auto);
    }

    /// <summary>Smallest power of two that is at least <paramref name="size"/>.</summary>
    public static int PaddedLength(int size)
    {
        SchemaChecks.CheckOption(size > 0 && size <= 1 << MaxLog2Length, nameof(size), size, $"in 1..{1 << MaxLog2Length}");
        return (int)BitOperations.RoundUpToPowerOf2((uint)size);
    }

    /// <summary>Which kernel runs; tests force each one the CPU supports.</summary>
    internal enum SimdPath { Scalar, Vector128, Vector256, Vector512, Auto }

    /// <summary>Whether <paramref name="path"/> can run on this machine.</summary>
    internal static bool IsSupported(SimdPath path) => path switch
    {
        SimdPath.Vector512 => Vector512.IsHardwareAccelerated,
        SimdPath.Vector256 => Vector256.IsHardwareAccelerated,
        SimdPath.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };

    /// <summary>
    /// Validated entry for all public forms and for tests: rows of <paramref name="rowLength"/> in <paramref name="data"/>,
    /// each x &lt;- scale * H (signs (.) x). A forced vector path handles rows shorter than its width with the next
    /// narrower path, as Auto does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run(Span<float> data, int rowLength, ReadOnlySpan<float> signs, bool hasSigns, float scale, SimdPath path)
    {
        if (path == SimdPath.Auto)
            path = Vector512.IsHardwareAccelerated ? SimdPath.Vector512
                : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
                : Vector128.IsHardwareAccelerated ? SimdPath.Vector128 : SimdPath.Scalar;
        else if (!IsSupported(path))
            throw new PlatformNotSupportedException($"The {path} Walsh-Hadamard kernel is not hardware accelerated on this machine.");

        int log2 = BitOperations.Log2((uint)rowLength);
        ref float s = ref MemoryMarshal.GetReference(signs);
        for (int row = 0; row < data.Length; row += rowLength)
        {
            ref float x = ref Unsafe.Add(ref MemoryMarshal.GetReference(data), row);
            if (path >= SimdPath.Vector512 && log2 >= 4)
                RunVector<Simd512, Vector512<float>>(ref x, ref s, log2 - 4, hasSigns, scale);
            else if (path >= SimdPath.Vector256 && log2 >= 3)
                RunVector<Simd256, Vector256<float>>(ref x, ref s, log2 - 3, hasSigns, scale);
            else if (path >= SimdPath.Vector128 && log2 >= 2)
                RunVector<Simd128, Vector128<float>>(ref x, ref s, log2 - 2, hasSigns, scale);
            else
                RunScalar(ref x, ref s, rowLength, hasSigns, scale);
        }
    }

    /// <summary>The fallback without SIMD: sign flip, then the plain loop with the scaling fused into the last stage.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunScalar(ref float x, ref float s, int n, bool hasSigns, float scale)
    {
        if (hasSigns)
            for (int i = 0; i < n; i++)
                Unsafe.Add(ref x, i) *= Unsafe.Add(ref s, i);
        int lastH = scale != 1f ? n >> 1 : n;
        for (int h = 1; h < lastH; h <<= 1)
            for (int i = 0; i < n; i += h << 1)
                for (int j = i; j < i + h; j++)
                {
                    float a = Unsafe.Add(ref x, j), b = Unsafe.Add(ref x, j + h);
                    Unsafe.Add(ref x, j) = a + b;
                    Unsafe.Add(ref x, j + h) = a - b;
                }
        if (lastH == 0)
            x *= scale;
        else if (lastH < n)
            for (int j = 0; j < lastH; j++)
            {
                float a = Unsafe.Add(ref x, j), b = Unsafe.Add(ref x, j + lastH);
                Unsafe.Add(ref x, j) = (a + b) * scale;
                Unsafe.Add(ref x, j + lastH) = (a - b) * scale;
            }
    }

    private static float ScaleOf(int length, bool normalize) => normalize ? 1f / MathF.Sqrt(length) : 1f;

    private static void CheckLength(int length, string paramName)
    {
        if (length < 1 || length > 1 << MaxLog2Length || !BitOperations.IsPow2(length))
            throw new ArgumentException($"Walsh-Hadamard length must be a power of two in 1..2^{MaxLog2Length}; got {length}.", paramName);
    }

    private static void CheckRows(int matrixLength, int rowLength)
    {
        CheckLength(rowLength, nameof(rowLength));
        if (matrixLength % rowLength != 0)
            throw new ArgumentException($"Matrix length {matrixLength} is not a whole number of rows of length {rowLength}.", "matrix");
    }

    private static void CheckSigns(int signsLength, int length)
    {
        if (signsLength != length)
            throw new ArgumentException($"Sign diagonal has {signsLength} values; expected {length} (the transform length).", "signs");
    }
}
