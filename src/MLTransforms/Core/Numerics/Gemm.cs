using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLTransforms.Core.Numerics;

/// <summary>
/// The library's single-precision matrix products: C = alpha op(A) op(B) + beta C on row-major spans, where op is the
/// identity or the transpose. <see cref="Multiply"/> calls <c>cblas_sgemm</c> from a native BLAS when one loads
/// (OpenBLAS on Linux and Windows, Accelerate or OpenBLAS on macOS; probed once per process), else a managed
/// register-blocked kernel; both give the same results up to float rounding. <see cref="MultiplyAddBias"/> is the
/// small-batch affine map Y = X W + b (embedding adapters).
/// </summary>
/// <remarks>Measured on the 2-core development machine (1024^3, shared with other jobs): see the OLinear section of the
/// README; OpenBLAS is several times faster than the managed kernel, which is kept as the portable fallback.</remarks>
internal static unsafe class Gemm
{
    private const int CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112;

    private static readonly NativeBlas Native = NativeBlas.Probe();

    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm =
        (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)Native.Export("cblas_sgemm");
    private static readonly delegate* unmanaged<int, void> SetBlasThreads = (delegate* unmanaged<int, void>)Native.Export("openblas_set_num_threads");
    private static readonly delegate* unmanaged<int> GetBlasThreads = (delegate* unmanaged<int>)Native.Export("openblas_get_num_threads");

    private static readonly Lock ThreadsLock = new();
    private static int _sharedThreadsScopes, _savedBlasThreads;

    /// <summary>Whether a native BLAS loaded (then <see cref="Multiply"/> uses it unless <see cref="ForceManaged"/>).</summary>
    internal static bool NativeAvailable => Sgemm != null;

    [ThreadStatic] private static bool _forceManaged;

    /// <summary>Runs <see cref="Multiply"/> on the managed kernel on the calling thread even when a native BLAS
    /// loaded: for parity tests and benchmarks only (thread-static, so parallel callers are unaffected).</summary>
    internal static bool ForceManaged { get => _forceManaged; set => _forceManaged = value; }

    /// <summary>Whether <see cref="Multiply"/> runs the managed kernel on the calling thread (no native BLAS, or
    /// <see cref="ForceManaged"/>).</summary>
    internal static bool RunsManaged => Sgemm == null || _forceManaged;

    /// <summary>The warning for fits that lean on products: what to install, or null when a native BLAS runs them.</summary>
    internal static string? BackendAdvice => RunsManaged ? NativeBlas.InstallAdvice : null;

    /// <summary>The backend in a few words: the vendor and the library file (e.g. <c>OpenBLAS (libopenblas.so.0)</c>), or <c>managed</c>.</summary>
    internal static string BackendName => Native.Name;

    /// <summary>For logs: the library loaded and its build (OpenBLAS's configuration string), or why none was (every name tried).</summary>
    internal static string BackendDescription => Native.Description;

    /// <summary>
    /// Divides OpenBLAS's threads among <paramref name="callers"/> threads that run products at the same time (the
    /// OLinear trainer's batch shards) until the scope is disposed, so that OpenBLAS's own threads do not compete with
    /// them for the same cores: 1 thread each on 2 cores. OpenBLAS's thread count is process-wide; the first scope sets
    /// it and the last one to end restores it. A no-op for the managed kernel and for Accelerate.
    /// </summary>
    internal static SharedThreadsScope ShareThreads(int callers)
    {
        lock (ThreadsLock)
        {
            if (_sharedThreadsScopes++ == 0 && SetBlasThreads != null && GetBlasThreads != null)
            {
                _savedBlasThreads = GetBlasThreads();
                SetBlasThreads(Math.Max(1, _savedBlasThreads / Math.Max(1, callers)));
            }
        }
        return new SharedThreadsScope();
    }

    /// <summary>Ends a <see cref="ShareThreads"/> scope.</summary>
    internal readonly struct SharedThreadsScope : IDisposable
    {
        public void Dispose()
        {
            lock (ThreadsLock)
            {
                if (--_sharedThreadsScopes == 0 && SetBlasThreads != null && GetBlasThreads != null)
                    SetBlasThreads(_savedBlasThreads);
            }
        }
    }

    /// <summary>
    /// C (m x n) = alpha op(A) op(B) + beta C; op(A) is m x k (A stored k x m when <paramref name="transA"/>), op(B)
    /// is k x n (B stored n x k when <paramref name="transB"/>); all row-major and dense. Native BLAS when loaded, else
    /// <see cref="ManagedMultiply"/>.
    /// </summary>
    internal static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a,
        ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        if (!CheckShape(m, n, k, a, b, c)) return;
        // k = 0 is C = beta C; BLAS would reject the leading dimension 0 of A or B.
        if (k == 0) { Scale(c[..(m * n)], beta); return; }
        if (Sgemm == null || _forceManaged) { ManagedMultiply(transA, transB, m, n, k, alpha, a, b, beta, c); return; }
        fixed (float* pa = a, pb = b, pc = c)
            Sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha,
                pa, transA ? m : k, pb, transB ? k : n, beta, pc, n);
    }

    /// <summary>Validates the sizes; false when there is nothing to multiply (then C is already final).</summary>
    private static bool CheckShape(int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"Gemm {m}x{n}x{k}: sizes must be non-negative.");
        if (a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n)
            throw new ArgumentException($"Gemm {m}x{n}x{k}: spans of {a.Length}, {b.Length}, {c.Length} values are too short (need {(long)m * k}, {(long)k * n}, {(long)m * n}).");
        return m != 0 && n != 0;
    }

    private static void Scale(Span<float> c, float beta)
    {
        if (beta == 0) c.Clear();
        else if (beta != 1) TensorPrimitives.Multiply(c, beta, c);
    }

    /// <summary>The managed kernel behind <see cref="Multiply"/> (same contract): operands brought to the plain
    /// layout, then 4 x 16 register tiles with FMA over k-blocks of 256, column strips in parallel for large products.</summary>
    private static void ManagedMultiply(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a,
        ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        // Bring both operands to the plain layout (O(mk + kn), small next to the O(mnk) product).
        float[]? ta = null, tb = null;
        if (transA) { ta = new float[m * k]; Transpose(a, k, m, ta); a = ta; }
        if (transB) { tb = new float[k * n]; Transpose(b, n, k, tb); b = tb; }
        if (alpha != 1)
        {
            var sa = new float[m * k];
            TensorPrimitives.Multiply(a[..(m * k)], alpha, sa);
            a = sa;
        }
        Scale(c[..(m * n)], beta);
        const int Strip = 16;
        int strips = (n + Strip - 1) / Strip;
        fixed (float* pa = a, pb = b, pc = c)
        {
            var (ra, rb, rc) = ((nint)pa, (nint)pb, (nint)pc);
            if ((long)m * n * k >= 1 << 21 && strips > 1 && Environment.ProcessorCount > 1)
                Parallel.For(0, strips, s => StripKernel((float*)ra, (float*)rb, (float*)rc, m, n, k, s * Strip));
            else
                for (int s = 0; s < strips; s++) StripKernel(pa, pb, pc, m, n, k, s * Strip);
        }
    }

    /// <summary>C[:, j0 .. j0 + 16) += A B[:, j0 .. j0 + 16), in blocks of 256 along k so that the block of the
    /// 16-column strip of B (16 KB) stays in L1 while rows of A stream by.</summary>
    private static void StripKernel(float* a, float* b, float* c, int m, int n, int k, int j0)
    {
        const int KBlock = 256;
        for (int k0 = 0; k0 < k; k0 += KBlock)
            StripBlock(a + k0, b + (long)k0 * n, c, m, n, k, Math.Min(KBlock, k - k0), j0);
    }

    /// <summary>C[:, j0 .. j0 + 16) += A[:, 0 .. kb) B[0 .. kb, j0 .. j0 + 16); rows of A are k apart.</summary>
    private static void StripBlock(float* a, float* b, float* c, int m, int n, int k, int kb, int j0)
    {
        if (j0 + 16 > n || !Vector256.IsHardwareAccelerated)
        {
            int j1 = Math.Min(n, j0 + 16);
            for (int i = 0; i < m; i++)
                for (int p = 0; p < kb; p++)
                {
                    float av = a[i * k + p];
                    for (int j = j0; j < j1; j++) c[i * n + j] += av * b[p * n + j];
                }
            return;
        }
        int i0 = 0;
        for (; i0 + 4 <= m; i0 += 4)
        {
            float* c0 = c + i0 * n + j0, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
            var s00 = Vector256.Load(c0); var s01 = Vector256.Load(c0 + 8);
            var s10 = Vector256.Load(c1); var s11 = Vector256.Load(c1 + 8);
            var s20 = Vector256.Load(c2); var s21 = Vector256.Load(c2 + 8);
            var s30 = Vector256.Load(c3); var s31 = Vector256.Load(c3 + 8);
            float* a0 = a + i0 * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
            float* bp = b + j0;
            for (int p = 0; p < kb; p++, bp += n)
            {
                var b0 = Vector256.Load(bp); var b1 = Vector256.Load(bp + 8);
                var x = Vector256.Create(a0[p]); s00 = Fma(x, b0, s00); s01 = Fma(x, b1, s01);
                x = Vector256.Create(a1[p]); s10 = Fma(x, b0, s10); s11 = Fma(x, b1, s11);
                x = Vector256.Create(a2[p]); s20 = Fma(x, b0, s20); s21 = Fma(x, b1, s21);
                x = Vector256.Create(a3[p]); s30 = Fma(x, b0, s30); s31 = Fma(x, b1, s31);
            }
            s00.Store(c0); s01.Store(c0 + 8); s10.Store(c1); s11.Store(c1 + 8);
            s20.Store(c2); s21.Store(c2 + 8); s30.Store(c3); s31.Store(c3 + 8);
        }
        for (; i0 < m; i0++)
        {
            float* c0 = c + i0 * n + j0;
            var s0 = Vector256.Load(c0); var s1 = Vector256.Load(c0 + 8);
            float* bp = b + j0;
            for (int p = 0; p < kb; p++, bp += n)
            {
                var x = Vector256.Create(a[i0 * k + p]);
                s0 = Fma(x, Vector256.Load(bp), s0); s1 = Fma(x, Vector256.Load(bp + 8), s1);
            }
            s0.Store(c0); s1.Store(c0 + 8);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    /// <summary>
    /// Y = X W + b for row-major X (rows x k), W (k x n), b (n): the embedding adapters' apply path. A managed kernel
    /// (4 rows x 32 columns of 512-bit accumulators started at b, FMA along k) rather than <see cref="Multiply"/>:
    /// callers already split large batches over the cores, so a native BLAS would add its own threads (or a thread
    /// handshake per call) on top, and the copy of b into every row; the published adapter figures are this kernel's
    /// exact outputs. Without 512-bit SIMD, or when n is not a multiple of 16, rows go one at a time.
    /// </summary>
    internal static void MultiplyAddBias(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int rows, int k, int n)
    {
        if (x.Length < (long)rows * k || w.Length < (long)k * n || b.Length < n || y.Length < (long)rows * n)
            throw new ArgumentException($"MultiplyAddBias {rows}x{n}x{k}: spans of {x.Length}, {w.Length}, {b.Length}, {y.Length} values are too short.");
        int r = 0;
        if (Vector512.IsHardwareAccelerated && n % 16 == 0)
        {
            for (; r + 4 <= rows; r += 4)
            {
                var x0 = x.Slice(r * k, k);
                var x1 = x.Slice((r + 1) * k, k);
                var x2 = x.Slice((r + 2) * k, k);
                var x3 = x.Slice((r + 3) * k, k);
                int c = 0;
                for (; c + 32 <= n; c += 32)
                {
                    var bb0 = Vector512.Create(b.Slice(c, 16));
                    var bb1 = Vector512.Create(b.Slice(c + 16, 16));
                    Vector512<float> a00 = bb0, a01 = bb1, a10 = bb0, a11 = bb1, a20 = bb0, a21 = bb1, a30 = bb0, a31 = bb1;
                    for (int i = 0; i < k; i++)
                    {
                        var wr = w.Slice(i * n + c, 32);
                        var w0 = Vector512.Create(wr);
                        var w1 = Vector512.Create(wr.Slice(16));
                        var s0 = Vector512.Create(x0[i]);
                        var s1 = Vector512.Create(x1[i]);
                        var s2 = Vector512.Create(x2[i]);
                        var s3 = Vector512.Create(x3[i]);
                        a00 = Vector512.FusedMultiplyAdd(s0, w0, a00); a01 = Vector512.FusedMultiplyAdd(s0, w1, a01);
                        a10 = Vector512.FusedMultiplyAdd(s1, w0, a10); a11 = Vector512.FusedMultiplyAdd(s1, w1, a11);
                        a20 = Vector512.FusedMultiplyAdd(s2, w0, a20); a21 = Vector512.FusedMultiplyAdd(s2, w1, a21);
                        a30 = Vector512.FusedMultiplyAdd(s3, w0, a30); a31 = Vector512.FusedMultiplyAdd(s3, w1, a31);
                    }
                    a00.CopyTo(y.Slice(r * n + c)); a01.CopyTo(y.Slice(r * n + c + 16));
                    a10.CopyTo(y.Slice((r + 1) * n + c)); a11.CopyTo(y.Slice((r + 1) * n + c + 16));
                    a20.CopyTo(y.Slice((r + 2) * n + c)); a21.CopyTo(y.Slice((r + 2) * n + c + 16));
                    a30.CopyTo(y.Slice((r + 3) * n + c)); a31.CopyTo(y.Slice((r + 3) * n + c + 16));
                }
                for (; c < n; c += 16)
                {
                    var bb = Vector512.Create(b.Slice(c, 16));
                    Vector512<float> a0 = bb, a1 = bb, a2 = bb, a3 = bb;
                    for (int i = 0; i < k; i++)
                    {
                        var w0 = Vector512.Create(w.Slice(i * n + c, 16));
                        a0 = Vector512.FusedMultiplyAdd(Vector512.Create(x0[i]), w0, a0);
                        a1 = Vector512.FusedMultiplyAdd(Vector512.Create(x1[i]), w0, a1);
                        a2 = Vector512.FusedMultiplyAdd(Vector512.Create(x2[i]), w0, a2);
                        a3 = Vector512.FusedMultiplyAdd(Vector512.Create(x3[i]), w0, a3);
                    }
                    a0.CopyTo(y.Slice(r * n + c)); a1.CopyTo(y.Slice((r + 1) * n + c));
                    a2.CopyTo(y.Slice((r + 2) * n + c)); a3.CopyTo(y.Slice((r + 3) * n + c));
                }
            }
        }
        for (; r < rows; r++)
        {
            var yr = y.Slice(r * n, n);
            b.CopyTo(yr);
            var xr = x.Slice(r * k, k);
            for (int i = 0; i < k; i++)
                TensorPrimitives.MultiplyAdd(w.Slice(i * n, n), xr[i], yr, yr);
        }
    }

    /// <summary>dst (cols x rows) = src (rows x cols) transposed.</summary>
    internal static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        const int Tile = 32;
        for (int i0 = 0; i0 < rows; i0 += Tile)
            for (int j0 = 0; j0 < cols; j0 += Tile)
            {
                int i1 = Math.Min(rows, i0 + Tile), j1 = Math.Min(cols, j0 + Tile);
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++)
                        dst[j * rows + i] = src[i * cols + j];
            }
    }
}
