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
/// <para>1 to 4 bits (FastScan, the batch scan of RaBitQ and of FAISS's PQ4 fast scan): codes are stored in blocks of
/// 32 vectors, one nibble per vector and position (4 bits of the code's bit stream: four 1-bit, two 2-bit or one
/// 4-bit code, or a 3-bit code's share), 16 bytes per position; a per-position table of 16 uint8 partial scores sits
/// in a register and one byte shuffle scores 16 vectors (Vector512: 4 positions, Vector256: 2 positions per
/// instruction), accumulated in uint16 lanes that are flushed to int32 every 256 steps, so tables use all 8 bits.
/// This replaced the bit-sliced 1-bit scan (a 4-bit query, AND + popcount): with .NET's lack of a vector popcount it
/// ran at half the speed, with a coarser query.</para>
/// <para>8 bits: uint8 codes times an int16 query, summed in int32: with AVX-VNNI, the query split as 128 h + l (h
/// int8, l in 0..127) and two uint8 x int8 dot-product instructions per 32 codes; else AVX-512BW or AVX2 16-bit
/// multiply-add of the widened codes; else scalar. An int16 query keeps the query's rounding error far below the
/// codes'.</para>
/// </remarks>
internal static class QuantizedScan
{
    /// <summary>Kernel choice: the fastest the machine has (Simd), or one forced for tests: scalar, AVX2 or AVX-512BW
    /// (both without VNNI; a forced path the machine lacks falls back to the next narrower one).</summary>
    internal enum Path { Scalar, Simd, Avx2, Avx512 }

    /// <summary>Vectors per FastScan block.</summary>
    public const int Block = 32;

    // ---- 1 to 4 bits: FastScan ----

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
        if (sums.Length < Block) throw new ArgumentException($"Expected room for {Block} sums.", nameof(sums));
        if (path is Path.Simd or Path.Avx512 && Avx512BW.IsSupported && nibbles % 4 == 0)
            ScanBlock512(block, lut, nibbles, sums);
        else if (path != Path.Scalar && Avx2.IsSupported && nibbles % 2 == 0)
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

    /// <summary>Steps one lane may add before its uint16 accumulators are flushed: 256 table entries of at most 255
    /// stay below 2^16, so every table may use the full byte range.</summary>
    private const int SegmentSteps = 256;

    private static void ScanBlock256(ReadOnlySpan<byte> block, ReadOnlySpan<byte> lut, int nibbles, Span<int> sums)
    {
        ref byte b0 = ref MemoryMarshal.GetReference(block);
        ref byte l0 = ref MemoryMarshal.GetReference(lut);
        var mask = Vector256.Create((byte)15);
        Vector256<int> t0 = default, t1 = default, t2 = default, t3 = default;
        for (int segment = 0; segment < nibbles; segment += 2 * SegmentSteps)
        {
            int end = Math.Min(nibbles, segment + 2 * SegmentSteps);
            Vector256<ushort> loEven = default, loOdd = default, hiEven = default, hiOdd = default;
            for (int g = segment; g < end; g += 2)
            {
                var data = Vector256.LoadUnsafe(ref b0, (nuint)(g * 16));
                var table = Vector256.LoadUnsafe(ref l0, (nuint)(g * 16));
                var lo = Avx2.Shuffle(table, data & mask).AsUInt16();
                var hi = Avx2.Shuffle(table, Avx2.ShiftRightLogical(data.AsUInt16(), 4).AsByte() & mask).AsUInt16();
                loEven += lo; loOdd += lo >>> 8;
                hiEven += hi; hiOdd += hi >>> 8;
            }
            var (a, b) = Interleave(SumLanes(loEven - (loOdd << 8)), SumLanes(loOdd));
            var (c, d) = Interleave(SumLanes(hiEven - (hiOdd << 8)), SumLanes(hiOdd));
            t0 += a; t1 += b; t2 += c; t3 += d;
        }
        Store(sums, t0, t1, t2, t3);
    }

    private static void ScanBlock512(ReadOnlySpan<byte> block, ReadOnlySpan<byte> lut, int nibbles, Span<int> sums)
    {
        ref byte b0 = ref MemoryMarshal.GetReference(block);
        ref byte l0 = ref MemoryMarshal.GetReference(lut);
        var mask = Vector512.Create((byte)15);
        Vector256<int> t0 = default, t1 = default, t2 = default, t3 = default;
        for (int segment = 0; segment < nibbles; segment += 4 * SegmentSteps)
        {
            int end = Math.Min(nibbles, segment + 4 * SegmentSteps);
            Vector512<ushort> loEven = default, loOdd = default, hiEven = default, hiOdd = default;
            for (int g = segment; g < end; g += 4)
            {
                var data = Vector512.LoadUnsafe(ref b0, (nuint)(g * 16));
                var table = Vector512.LoadUnsafe(ref l0, (nuint)(g * 16));
                var lo = Avx512BW.Shuffle(table, data & mask).AsUInt16();
                var hi = Avx512BW.Shuffle(table, Avx512BW.ShiftRightLogical(data.AsUInt16(), 4).AsByte() & mask).AsUInt16();
                loEven += lo; loOdd += lo >>> 8;
                hiEven += hi; hiOdd += hi >>> 8;
            }
            var (a, b) = Interleave(SumLanes(loEven - (loOdd << 8)), SumLanes(loOdd));
            var (c, d) = Interleave(SumLanes(hiEven - (hiOdd << 8)), SumLanes(hiOdd));
            t0 += a; t1 += b; t2 += c; t3 += d;
        }
        Store(sums, t0, t1, t2, t3);
    }

    // An accumulator's uint16 j of 128-bit lane L holds vector 2j (even = accEven - 256 accOdd, mod 2^16) or 2j + 1
    // (odd = accOdd) of its half-block at positions L, L + lanes, ...; the lanes are widened and added.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SumLanes(Vector512<ushort> x)
    {
        var pairs = Vector512.WidenLower(x) + Vector512.WidenUpper(x);
        return (pairs.GetLower() + pairs.GetUpper()).AsInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SumLanes(Vector256<ushort> x) => (Vector256.WidenLower(x) + Vector256.WidenUpper(x)).AsInt32();

    /// <summary>Even-vector sums e0..e7 and odd o0..o7 into vector order: (e0 o0 .. e3 o3), (e4 o4 .. e7 o7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> First, Vector256<int> Second) Interleave(Vector256<int> even, Vector256<int> odd)
    {
        var lo = Avx2.UnpackLow(even, odd);
        var hi = Avx2.UnpackHigh(even, odd);
        return (Avx2.Permute2x128(lo, hi, 0x20), Avx2.Permute2x128(lo, hi, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Span<int> sums, Vector256<int> t0, Vector256<int> t1, Vector256<int> t2, Vector256<int> t3)
    {
        ref int s = ref MemoryMarshal.GetReference(sums);
        t0.StoreUnsafe(ref s);
        t1.StoreUnsafe(ref s, 8);
        t2.StoreUnsafe(ref s, 16);
        t3.StoreUnsafe(ref s, 24);
    }

    // ---- 8 bits ----

    /// <summary>Σ_i code_i query_i for each of <paramref name="count"/> vectors of <paramref name="codeBytes"/> uint8 codes
    /// and an int16 query (|query_i| small enough that no int32 sum overflows: see <see cref="QueryRange"/>).</summary>
    public static void ScanBytes(ReadOnlySpan<byte> codes, int codeBytes, int count, ReadOnlySpan<short> query, Span<int> sums, Path path = Path.Simd)
    {
        // The VNNI split of the query: q = 128 h + l, h = q >> 7 in -128..127 (|q| < 2^14), l = q & 127.
        Span<sbyte> high = query.Length <= 4096 ? stackalloc sbyte[query.Length] : new sbyte[query.Length];
        Span<sbyte> low = query.Length <= 4096 ? stackalloc sbyte[query.Length] : new sbyte[query.Length];
        for (int i = 0; i < query.Length; i++) { high[i] = (sbyte)(query[i] >> 7); low[i] = (sbyte)(query[i] & 127); }
        for (int v = 0; v < count; v++)
            sums[v] = Dot(codes.Slice(v * codeBytes, codeBytes), query, high, low, path);
    }

    /// <summary>The largest |query_i| for which Σ 255 |query_i| over <paramref name="length"/> values fits in int32.</summary>
    public static int QueryRange(int length) => (int)Math.Min(16383, int.MaxValue / (255L * length));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Dot(ReadOnlySpan<byte> code, ReadOnlySpan<short> query, ReadOnlySpan<sbyte> high, ReadOnlySpan<sbyte> low, Path path)
    {
        int n = code.Length, i = 0, s = 0;
        ref byte c0 = ref MemoryMarshal.GetReference(code);
        ref short q0 = ref MemoryMarshal.GetReference(query);
        if (path == Path.Simd && AvxVnni.IsSupported && n >= 32)
        {
            // Σ c q = 128 Σ c h + Σ c l, each in exact int32 (no saturation in vpdpbusd).
            ref sbyte h0 = ref MemoryMarshal.GetReference(high);
            ref sbyte l0 = ref MemoryMarshal.GetReference(low);
            Vector256<int> accHigh = default, accLow = default;
            for (; i + 32 <= n; i += 32)
            {
                var c = Vector256.LoadUnsafe(ref c0, (nuint)i);
                accHigh = AvxVnni.MultiplyWideningAndAdd(accHigh, c, Vector256.LoadUnsafe(ref h0, (nuint)i));
                accLow = AvxVnni.MultiplyWideningAndAdd(accLow, c, Vector256.LoadUnsafe(ref l0, (nuint)i));
            }
            s = 128 * Vector256.Sum(accHigh) + Vector256.Sum(accLow);
        }
        else if (path is Path.Simd or Path.Avx512 && Avx512BW.IsSupported && n >= 32)
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
        else if (path != Path.Scalar && Avx2.IsSupported && n >= 16)
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
