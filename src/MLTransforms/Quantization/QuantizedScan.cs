using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLTransforms.Quantization;

/// <summary>
/// The asymmetric scan kernels of <see cref="QuantizedIndex"/>: a float query, prepared once into a small integer
/// form, against packed codes. Every kernel computes an integer sum exactly, so the SIMD paths and the scalar
/// fallback return identical values (the tests compare them).
/// </summary>
/// <remarks>
/// <para>1 bit (RaBitQ's bit-sliced query): the rotated query is quantized to 4 bits, u_i in 0..15, and split into
/// four bit planes; for a code b, Σ_{b_i = 1} u_i = Σ_j 2^j popcount(b AND plane_j), 64 coordinates per popcount.</para>
/// <para>2 and 4 bits (FastScan): codes are stored in blocks of 32 vectors, one nibble per vector and position
/// (4 bits: one coordinate; 2 bits: two), 16 bytes per position; a per-position table of 16 uint8 partial scores
/// sits in a register and one byte shuffle scores 16 vectors (Vector512: 4 positions, Vector256: 2 positions per
/// instruction), accumulated in uint16 lanes (tables scaled so no lane can overflow).</para>
/// <para>8 bits: uint8 codes (widened) times an int16 query, summed in int32 (AVX-512BW or AVX2 16-bit
/// multiply-add, else scalar); an int16 query keeps the query's rounding error far below the codes'.</para>
/// </remarks>
internal static class QuantizedScan
{
    internal enum Path { Scalar, Simd }

    /// <summary>Vectors per FastScan block.</summary>
    public const int Block = 32;

    // ---- 1 bit ----

    /// <summary>Per vector: popcount(b) and Σ_j 2^j popcount(b AND plane_j) over the code bytes.</summary>
    public static void ScanBits(ReadOnlySpan<byte> codes, int codeBytes, int count, ReadOnlySpan<byte> planes, Span<int> ones, Span<int> weighted,
        Path path = Path.Simd)
    {
        if (path == Path.Simd && Avx512BW.IsSupported && codeBytes % 64 == 0)
        {
            ScanBits512(codes, codeBytes, count, planes, ones, weighted);
            return;
        }
        int words = codeBytes / 8;
        var p0 = MemoryMarshal.Cast<byte, ulong>(planes[..(words * 8)]);
        var p1 = MemoryMarshal.Cast<byte, ulong>(planes.Slice(codeBytes, words * 8));
        var p2 = MemoryMarshal.Cast<byte, ulong>(planes.Slice(2 * codeBytes, words * 8));
        var p3 = MemoryMarshal.Cast<byte, ulong>(planes.Slice(3 * codeBytes, words * 8));
        for (int v = 0; v < count; v++)
        {
            var code = codes.Slice(v * codeBytes, codeBytes);
            var w = MemoryMarshal.Cast<byte, ulong>(code[..(words * 8)]);
            int pc = 0, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int k = 0; k < w.Length; k++)
            {
                ulong b = w[k];
                pc += BitOperations.PopCount(b);
                s0 += BitOperations.PopCount(b & p0[k]);
                s1 += BitOperations.PopCount(b & p1[k]);
                s2 += BitOperations.PopCount(b & p2[k]);
                s3 += BitOperations.PopCount(b & p3[k]);
            }
            for (int k = words * 8; k < codeBytes; k++)
            {
                uint b = code[k];
                pc += BitOperations.PopCount(b);
                s0 += BitOperations.PopCount(b & planes[k]);
                s1 += BitOperations.PopCount(b & planes[codeBytes + k]);
                s2 += BitOperations.PopCount(b & planes[2 * codeBytes + k]);
                s3 += BitOperations.PopCount(b & planes[3 * codeBytes + k]);
            }
            ones[v] = pc;
            weighted[v] = s0 + 2 * s1 + 4 * s2 + 8 * s3;
        }
    }

    /// <summary>
    /// <see cref="ScanBits"/> 64 code bytes at a time. .NET has no vector popcount, so each byte's count comes from a
    /// 16-entry nibble table (two byte shuffles), the four plane counts are weighted within the byte (at most 120), and
    /// SumAbsoluteDifferences against zero adds the bytes into 64-bit lanes.
    /// </summary>
    private static void ScanBits512(ReadOnlySpan<byte> codes, int codeBytes, int count, ReadOnlySpan<byte> planes, Span<int> ones, Span<int> weighted)
    {
        var table = Vector512.Create(
            (byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var nibble = Vector512.Create((byte)0x0F);
        int chunks = codeBytes / 64;
        ref byte c = ref MemoryMarshal.GetReference(codes);
        ref byte q = ref MemoryMarshal.GetReference(planes);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        Vector512<byte> Count(Vector512<byte> x)
            => Avx512BW.Shuffle(table, x & nibble) + Avx512BW.Shuffle(table, Vector512.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & nibble);

        if (chunks == 1)
        {
            // 512-bit codes (384-d and 512-d embeddings): the planes stay in registers.
            var p0 = Vector512.LoadUnsafe(ref q);
            var p1 = Vector512.LoadUnsafe(ref q, 64);
            var p2 = Vector512.LoadUnsafe(ref q, 128);
            var p3 = Vector512.LoadUnsafe(ref q, 192);
            for (int v = 0; v < count; v++)
            {
                var b = Vector512.LoadUnsafe(ref c, (nuint)((long)v * 64));
                var w = Count(b & p3);
                w = w + w + Count(b & p2);
                w = w + w + Count(b & p1);
                w = w + w + Count(b & p0);
                ones[v] = (int)Vector512.Sum(Avx512BW.SumAbsoluteDifferences(Count(b), Vector512<byte>.Zero).AsUInt64());
                weighted[v] = (int)Vector512.Sum(Avx512BW.SumAbsoluteDifferences(w, Vector512<byte>.Zero).AsUInt64());
            }
            return;
        }
        for (int v = 0; v < count; v++)
        {
            var sumOnes = Vector512<ulong>.Zero;
            var sumWeighted = Vector512<ulong>.Zero;
            for (int k = 0; k < chunks; k++)
            {
                nuint at = (nuint)(k * 64);
                var b = Vector512.LoadUnsafe(ref c, (nuint)((long)v * codeBytes) + at);
                var p0 = Vector512.LoadUnsafe(ref q, at);
                var p1 = Vector512.LoadUnsafe(ref q, (nuint)codeBytes + at);
                var p2 = Vector512.LoadUnsafe(ref q, (nuint)(2 * codeBytes) + at);
                var p3 = Vector512.LoadUnsafe(ref q, (nuint)(3 * codeBytes) + at);
                // 8 c3 + 4 c2 + 2 c1 + c0 per byte, by doubling.
                var w = Count(b & p3);
                w = w + w + Count(b & p2);
                w = w + w + Count(b & p1);
                w = w + w + Count(b & p0);
                sumOnes += Avx512BW.SumAbsoluteDifferences(Count(b), Vector512<byte>.Zero).AsUInt64();
                sumWeighted += Avx512BW.SumAbsoluteDifferences(w, Vector512<byte>.Zero).AsUInt64();
            }
            ones[v] = (int)Vector512.Sum(sumOnes);
            weighted[v] = (int)Vector512.Sum(sumWeighted);
        }
    }

    // ---- 2 and 4 bits: FastScan ----

    /// <summary>Sets vector <paramref name="v"/> (of its block) of a block's bytes to <paramref name="code"/>.</summary>
    public static void SetNibbles(Span<byte> block, int v, ReadOnlySpan<byte> code)
    {
        int nibbles = code.Length * 2, lane = v & 15, shift = (v >> 4) * 4;
        byte keep = (byte)(0xF0 >> shift);
        for (int g = 0; g < nibbles; g++)
        {
            int nib = (code[g >> 1] >> ((g & 1) * 4)) & 15;
            ref byte b = ref block[g * 16 + lane];
            b = (byte)((b & keep) | (nib << shift));
        }
    }

    /// <summary>The inverse of <see cref="SetNibbles"/>.</summary>
    public static void GetNibbles(ReadOnlySpan<byte> block, int v, Span<byte> code)
    {
        int nibbles = code.Length * 2, lane = v & 15, shift = (v >> 4) * 4;
        code.Clear();
        for (int g = 0; g < nibbles; g++)
        {
            int nib = (block[g * 16 + lane] >> shift) & 15;
            code[g >> 1] |= (byte)(nib << ((g & 1) * 4));
        }
    }

    /// <summary>Scores the 32 vectors of one block: <paramref name="sums"/>[v] = Σ_g lut[g * 16 + nibble_g(v)].</summary>
    public static void ScanBlock(ReadOnlySpan<byte> block, ReadOnlySpan<byte> lut, int nibbles, Span<int> sums, Path path = Path.Simd)
    {
        if (path == Path.Simd && Avx512BW.IsSupported && nibbles % 4 == 0)
            ScanBlock512(block, lut, nibbles, sums);
        else if (path == Path.Simd && Avx2.IsSupported && nibbles % 2 == 0)
            ScanBlock256(block, lut, nibbles, sums);
        else
            ScanBlockScalar(block, lut, nibbles, sums);
    }

    private static void ScanBlockScalar(ReadOnlySpan<byte> block, ReadOnlySpan<byte> lut, int nibbles, Span<int> sums)
    {
        for (int v = 0; v < Block; v++)
        {
            int lane = v & 15, shift = (v >> 4) * 4, s = 0;
            for (int g = 0; g < nibbles; g++)
                s += lut[g * 16 + ((block[g * 16 + lane] >> shift) & 15)];
            sums[v] = s;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScanBlock256(ReadOnlySpan<byte> block, ReadOnlySpan<byte> lut, int nibbles, Span<int> sums)
    {
        ref byte b0 = ref MemoryMarshal.GetReference(block);
        ref byte l0 = ref MemoryMarshal.GetReference(lut);
        var mask = Vector256.Create((byte)15);
        Vector256<ushort> loEven = default, loOdd = default, hiEven = default, hiOdd = default;
        for (int g = 0; g < nibbles; g += 2)
        {
            var data = Vector256.LoadUnsafe(ref b0, (nuint)(g * 16));
            var table = Vector256.LoadUnsafe(ref l0, (nuint)(g * 16));
            var lo = Avx2.Shuffle(table, data & mask).AsUInt16();
            var hi = Avx2.Shuffle(table, Avx2.ShiftRightLogical(data.AsUInt16(), 4).AsByte() & mask).AsUInt16();
            loEven += lo; loOdd += lo >>> 8;
            hiEven += hi; hiOdd += hi >>> 8;
        }
        Finish(loEven.AsUInt16(), loOdd, 2, sums, 0);
        Finish(hiEven, hiOdd, 2, sums, 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScanBlock512(ReadOnlySpan<byte> block, ReadOnlySpan<byte> lut, int nibbles, Span<int> sums)
    {
        ref byte b0 = ref MemoryMarshal.GetReference(block);
        ref byte l0 = ref MemoryMarshal.GetReference(lut);
        var mask = Vector512.Create((byte)15);
        Vector512<ushort> loEven = default, loOdd = default, hiEven = default, hiOdd = default;
        for (int g = 0; g < nibbles; g += 4)
        {
            var data = Vector512.LoadUnsafe(ref b0, (nuint)(g * 16));
            var table = Vector512.LoadUnsafe(ref l0, (nuint)(g * 16));
            var lo = Avx512BW.Shuffle(table, data & mask).AsUInt16();
            var hi = Avx512BW.Shuffle(table, Avx512BW.ShiftRightLogical(data.AsUInt16(), 4).AsByte() & mask).AsUInt16();
            loEven += lo; loOdd += lo >>> 8;
            hiEven += hi; hiOdd += hi >>> 8;
        }
        Finish(loEven, loOdd, sums, 0);
        Finish(hiEven, hiOdd, sums, 16);
    }

    /// <summary>Lane j of 128-bit lane L holds vectors 2j (even byte) and 2j + 1 (odd byte) of its half-block;
    /// even = accEven - 256 accOdd (mod 2^16), odd = accOdd; the lanes' partial sums are added.</summary>
    private static void Finish(Vector256<ushort> even, Vector256<ushort> odd, int lanes, Span<int> sums, int first)
    {
        Span<ushort> e = stackalloc ushort[16], o = stackalloc ushort[16];
        even.CopyTo(e);
        odd.CopyTo(o);
        for (int j = 0; j < 8; j++)
        {
            int se = 0, so = 0;
            for (int l = 0; l < lanes; l++)
            {
                se += (ushort)(e[l * 8 + j] - (o[l * 8 + j] << 8));
                so += o[l * 8 + j];
            }
            sums[first + 2 * j] = se;
            sums[first + 2 * j + 1] = so;
        }
    }

    private static void Finish(Vector512<ushort> even, Vector512<ushort> odd, Span<int> sums, int first)
    {
        Span<ushort> e = stackalloc ushort[32], o = stackalloc ushort[32];
        even.CopyTo(e);
        odd.CopyTo(o);
        for (int j = 0; j < 8; j++)
        {
            int se = 0, so = 0;
            for (int l = 0; l < 4; l++)
            {
                se += (ushort)(e[l * 8 + j] - (o[l * 8 + j] << 8));
                so += o[l * 8 + j];
            }
            sums[first + 2 * j] = se;
            sums[first + 2 * j + 1] = so;
        }
    }

    // ---- 8 bits ----

    /// <summary>Σ_i code_i query_i for each of <paramref name="count"/> vectors of <paramref name="codeBytes"/> uint8 codes
    /// and an int16 query (|query_i| small enough that no int32 sum overflows: see <see cref="QueryRange"/>).</summary>
    public static void ScanBytes(ReadOnlySpan<byte> codes, int codeBytes, int count, ReadOnlySpan<short> query, Span<int> sums, Path path = Path.Simd)
    {
        for (int v = 0; v < count; v++)
            sums[v] = Dot(codes.Slice(v * codeBytes, codeBytes), query, path);
    }

    /// <summary>The largest |query_i| for which Σ 255 |query_i| over <paramref name="length"/> values fits in int32.</summary>
    public static int QueryRange(int length) => (int)Math.Min(16383, int.MaxValue / (255L * length));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Dot(ReadOnlySpan<byte> code, ReadOnlySpan<short> query, Path path)
    {
        int n = code.Length, i = 0, s = 0;
        ref byte c0 = ref MemoryMarshal.GetReference(code);
        ref short q0 = ref MemoryMarshal.GetReference(query);
        if (path == Path.Simd && Avx512BW.IsSupported && n >= 32)
        {
            Vector512<int> acc0 = default, acc1 = default;
            for (; i + 64 <= n; i += 64)
            {
                acc0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref c0, (nuint)i)), Vector512.LoadUnsafe(ref q0, (nuint)i));
                acc1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref c0, (nuint)(i + 32))), Vector512.LoadUnsafe(ref q0, (nuint)(i + 32)));
            }
            for (; i + 32 <= n; i += 32)
                acc0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref c0, (nuint)i)), Vector512.LoadUnsafe(ref q0, (nuint)i));
            s = Vector512.Sum(acc0 + acc1);
        }
        else if (path == Path.Simd && Avx2.IsSupported && n >= 16)
        {
            Vector256<int> acc = default;
            for (; i + 16 <= n; i += 16)
                acc += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref c0, (nuint)i)), Vector256.LoadUnsafe(ref q0, (nuint)i));
            s = Vector256.Sum(acc);
        }
        for (; i < n; i++) s += code[i] * query[i];
        return s;
    }
}
