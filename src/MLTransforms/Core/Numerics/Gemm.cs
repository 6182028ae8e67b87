using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MLTransforms.Core.Numerics;

/// <summary>Which implementation <see cref="Gemm"/> uses.</summary>
public enum GemmBackend
{
    /// <summary>A blocked, vectorised managed kernel (always available).</summary>
    Managed,

    /// <summary><c>cblas_sgemm</c> from OpenBLAS (Debian: <c>apt-get install -y libopenblas0-pthread</c>), loaded at run time.</summary>
    OpenBlas,
}

/// <summary>
/// Single-precision matrix product C = alpha op(A) op(B) + beta C on row-major spans, where op is the identity or
/// the transpose. Uses OpenBLAS's <c>cblas_sgemm</c> when the native library can be loaded (probed once with
/// <see cref="NativeLibrary.TryLoad(string, out IntPtr)"/>), otherwise a managed register-blocked kernel.
/// </summary>
/// <remarks>Measured on the 2-core development machine (1024^3, shared with other jobs): see the OLinear report;
/// OpenBLAS is several times faster than the managed kernel, which is kept as the portable fallback.</remarks>
public static unsafe class Gemm
{
    private const int CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112;

    private static readonly nint OpenBlas = Probe();

    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm =
        (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)Export("cblas_sgemm");
    private static readonly delegate* unmanaged<int, void> SetBlasThreads = (delegate* unmanaged<int, void>)Export("openblas_set_num_threads");
    private static readonly delegate* unmanaged<int> GetBlasThreads = (delegate* unmanaged<int>)Export("openblas_get_num_threads");

    private static readonly Lock ThreadsLock = new();
    private static int _sharedThreadsScopes, _savedBlasThreads;

    private static nint Probe()
    {
        if (Environment.GetEnvironmentVariable("MLTRANSFORMS_GEMM") == "managed") return 0;
        foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libopenblas.dll", "openblas" })
            if (NativeLibrary.TryLoad(name, out var lib) && NativeLibrary.TryGetExport(lib, "cblas_sgemm", out _))
                return lib;
        return 0;
    }

    private static nint Export(string name) => OpenBlas != 0 && NativeLibrary.TryGetExport(OpenBlas, name, out var f) ? f : 0;

    /// <summary>
    /// Divides OpenBLAS's threads among <paramref name="callers"/> threads that run products at the same time (the
    /// OLinear trainer's batch shards) until the scope is disposed, so that OpenBLAS's own threads do not compete with
    /// them for the same cores: 1 thread each on 2 cores. OpenBLAS's thread count is process-wide; the first scope sets
    /// it and the last one to end restores it.
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

    /// <summary>The backend <see cref="Multiply"/> uses unless <see cref="ForceManaged"/> is set.</summary>
    public static GemmBackend Available => Sgemm != null ? GemmBackend.OpenBlas : GemmBackend.Managed;

    [ThreadStatic] private static bool _forceManaged;

    /// <summary>Use the managed kernel on the calling thread even when OpenBLAS is present (tests, benchmarks).
    /// Set the environment variable <c>MLTRANSFORMS_GEMM=managed</c> to do so for the whole process.</summary>
    public static bool ForceManaged { get => _forceManaged; set => _forceManaged = value; }

    /// <summary>The backend the calling thread uses now.</summary>
    public static GemmBackend Current => ForceManaged ? GemmBackend.Managed : Available;

    /// <summary>
    /// C (m x n) = alpha op(A) op(B) + beta C; op(A) is m x k (A stored k x m when <paramref name="transA"/>), op(B)
    /// is k x n (B stored n x k when <paramref name="transB"/>); all row-major and dense.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a,
        ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n)
            throw new ArgumentException($"Gemm {m}x{n}x{k}: spans of {a.Length}, {b.Length}, {c.Length} values are too short.");
        if (m == 0 || n == 0) return;
        if (k == 0) { Scale(c[..(m * n)], beta); return; }
        if (Sgemm != null && !ForceManaged)
        {
            fixed (float* pa = a, pb = b, pc = c)
                Sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha,
                    pa, transA ? m : k, pb, transB ? k : n, beta, pc, n);
            return;
        }
        ManagedMultiply(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    private static void Scale(Span<float> c, float beta)
    {
        if (beta == 0) c.Clear();
        else if (beta != 1) System.Numerics.Tensors.TensorPrimitives.Multiply(c, beta, c);
    }

    internal static void ManagedMultiply(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a,
        ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        // Bring both operands to the plain layout (O(mk + kn), small next to the O(mnk) product).
        float[]? ta = null, tb = null;
        if (transA) { ta = new float[m * k]; Transpose(a, k, m, ta); a = ta; }
        if (transB) { tb = new float[k * n]; Transpose(b, n, k, tb); b = tb; }
        if (alpha != 1)
        {
            var sa = new float[m * k];
            System.Numerics.Tensors.TensorPrimitives.Multiply(a[..(m * k)], alpha, sa);
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
