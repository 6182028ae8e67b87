using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MLTransforms.Rotations;

// Vector kernels of the FWHT, written once over the vector type. Every path computes the same sums; the order of the
// stages differs between widths and from the scalar loop, so results agree to float rounding, not to the last bit.
public static partial class WalshHadamard
{
    // Rows up to 512 KB (L2) are transformed in one go; longer ones block by block first (FFHT's recursion), then
    // the stages across blocks.
    private const int L2BlockLog2Floats = 17;

    // Bits of the vector index whose stride is 4 KB or more: 2^b such streams map to one set of the 8-way L1 and
    // evict each other between the loads and the stores of a pass (16 streams ran twice as slow), so a pass takes at
    // most 2 of them inside an L2 block and 3 across blocks (measured best).
    private const int LargeStrideLog2Floats = 10;

    // Radix of a pass: 16 vectors in flight need 32 vector registers (AVX-512 or Arm64), else 8.
    private static readonly int MaxLog2Radix = Avx512F.IsSupported || AdvSimd.Arm64.IsSupported ? 4 : 3;

    /// <summary>x &lt;- scale * H (signs (.) x) for one row of Count * 2^log2Vectors values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunVector<TOps, TV>(ref float x, ref float s, int log2Vectors, bool hasSigns, float scale)
        where TOps : ISimd<TV> where TV : struct
    {
        if (hasSigns)
            RunVector<TOps, TV, Yes>(ref x, ref s, log2Vectors, scale);
        else
            RunVector<TOps, TV, No>(ref x, ref s, log2Vectors, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunVector<TOps, TV, TSigns>(ref float x, ref float s, int k, float scale)
        where TOps : ISimd<TV> where TV : struct where TSigns : IFlag
    {
        bool scaled = scale != 1f;
        TV scaleVector = TOps.Broadcast(scale);
        int l2 = L2BlockLog2Floats - BitOperations.Log2((uint)TOps.Count);
        if (k <= l2)
        {
            Passes<TOps, TV, TSigns>(ref x, ref s, k, PassPlan<TOps, TV>.Block[k], scaleVector, scaled);
            return;
        }
        nint blockFloats = (nint)TOps.Count << l2;
        for (nint b = 0; b < (nint)1 << (k - l2); b++)
            Passes<TOps, TV, TSigns>(ref Unsafe.Add(ref x, b * blockFloats), ref TSigns.Value ? ref Unsafe.Add(ref s, b * blockFloats) : ref s,
                l2, PassPlan<TOps, TV>.Block[l2], scaleVector, false);
        Passes<TOps, TV, No>(ref x, ref s, k, PassPlan<TOps, TV>.Across[k], scaleVector, scaled);
    }

    // Runs the passes of a plan over 2^k vectors; a plan that starts at bit 0 does the in-register stages and the
    // sign flip in its first pass, and the last pass scales.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Passes<TOps, TV, TSigns>(ref float x, ref float s, int k, PassBits[] plan, TV scale, bool scaled)
        where TOps : ISimd<TV> where TV : struct where TSigns : IFlag
    {
        for (int p = 0; p < plan.Length; p++)
        {
            PassBits bits = plan[p];
            nint count = (nint)1 << (k - bits.Radix);
            bool last = p == plan.Length - 1 && scaled;
            if (bits.First)
            {
                if (last) Pass<TOps, TV, Yes, TSigns, Yes>(ref x, ref s, count, bits, scale);
                else Pass<TOps, TV, Yes, TSigns, No>(ref x, ref s, count, bits, scale);
            }
            else
            {
                if (last) Pass<TOps, TV, No, No, Yes>(ref x, ref s, count, bits, scale);
                else Pass<TOps, TV, No, No, No>(ref x, ref s, count, bits, scale);
            }
        }
    }

    /// <summary>
    /// Precomputed passes per length: <see cref="Block"/>[k] does all bits of 2^k vectors (k up to the L2 block),
    /// <see cref="Across"/>[k] the bits above the L2 block. Stages commute, so a pass may take any set of bits: as few
    /// passes as the radix allows, each with few bits of stride 4 KB or more.
    /// </summary>
    private static class PassPlan<TOps, TV> where TOps : ISimd<TV> where TV : struct
    {
        public static readonly PassBits[][] Block = Build(from: _ => 0, maxLargeStrideBits: 2);
        public static readonly PassBits[][] Across = Build(from: k => Math.Min(k, L2BlockLog2Floats - BitOperations.Log2((uint)TOps.Count)), maxLargeStrideBits: 3);

        private static PassBits[][] Build(Func<int, int> from, int maxLargeStrideBits)
        {
            int log2Count = BitOperations.Log2((uint)TOps.Count);
            var plans = new PassBits[MaxLog2Length + 1][];
            for (int k = 0; k <= MaxLog2Length; k++)
            {
                int lo = from(k);
                int large = Math.Clamp(LargeStrideLog2Floats - log2Count, lo, k);
                int lows = large - lo, highs = k - large;
                int passes = Math.Max(1, Math.Max(CeilDiv(k - lo, MaxLog2Radix), CeilDiv(highs, Math.Min(maxLargeStrideBits, MaxLog2Radix))));
                var plan = new PassBits[lo == k && lo > 0 ? 0 : passes];
                for (int p = 0, nextLow = lo, nextHigh = large; p < plan.Length; p++)
                {
                    int left = plan.Length - p;
                    int h = CeilDiv(highs, left);
                    int l = Math.Min(lows, Math.Max(0, CeilDiv(lows + highs, left) - h));
                    plan[p] = new PassBits(nextLow, l, nextHigh, h, log2Count, first: p == 0 && lo == 0);
                    nextLow += l;
                    nextHigh += h;
                    lows -= l;
                    highs -= h;
                }
                plans[k] = plan;
            }
            return plans;
        }

        private static int CeilDiv(int a, int b) => (a + b - 1) / b;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pass<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint count, PassBits bits, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        switch (bits.Radix)
        {
            case 0: Pass1<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, count, bits, scale); break;
            case 1: Pass2<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, count, bits, scale); break;
            case 2: Pass4<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, count, bits, scale); break;
            case 3: Pass8<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, count, bits, scale); break;
            default: Pass16<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, count, bits, scale); break;
        }
    }

    /// <summary>
    /// The vector-index bits of one pass: <c>lowCount</c> bits from <c>low</c> and <c>highCount</c> from <c>high</c>,
    /// ascending.
    /// </summary>
    private sealed class PassBits
    {
        private readonly nint _m0, _m1, _m2, _m3, _o0, _o1, _o2, _o3;
        private readonly int _log2Count;

        public int Radix { get; }
        public bool First { get; }

        public PassBits(int low, int lowCount, int high, int highCount, int log2Count, bool first)
        {
            var b = new int[4];
            int n = 0;
            for (int i = 0; i < lowCount; i++) b[n++] = low + i;
            for (int i = 0; i < highCount; i++) b[n++] = high + i;
            // Unused slots insert nothing: an all-ones mask keeps every bit in place.
            _m0 = n > 0 ? ((nint)1 << b[0]) - 1 : -1;
            _m1 = n > 1 ? ((nint)1 << b[1]) - 1 : -1;
            _m2 = n > 2 ? ((nint)1 << b[2]) - 1 : -1;
            _m3 = n > 3 ? ((nint)1 << b[3]) - 1 : -1;
            _o0 = n > 0 ? (nint)1 << (b[0] + log2Count) : 0;
            _o1 = n > 1 ? (nint)1 << (b[1] + log2Count) : 0;
            _o2 = n > 2 ? (nint)1 << (b[2] + log2Count) : 0;
            _o3 = n > 3 ? (nint)1 << (b[3] + log2Count) : 0;
            _log2Count = log2Count;
            Radix = n;
            First = first;
        }

        public nint Offset(int slot) => slot switch { 0 => _o0, 1 => _o1, 2 => _o2, _ => _o3 };

        /// <summary>The insertion masks and the shift from vectors to floats, for <see cref="Start"/> (locals in the loop).</summary>
        public (nint, nint, nint, nint, int) Masks => (_m0, _m1, _m2, _m3, _log2Count);

        /// <summary>Float offset of the m-th group: m with zeros inserted at the pass bits, times the vector width.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static nint Start(nint m, nint m0, nint m1, nint m2, nint m3, int shift)
            => Insert(Insert(Insert(Insert(m, m0), m1), m2), m3) << shift;

        private static nint Insert(nint i, nint lowMask) => (i & lowMask) | ((i & ~lowMask) << 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Load<TOps, TV, TSigns>(ref float x, ref float s, nint i)
        where TOps : ISimd<TV> where TV : struct where TSigns : IFlag
        => TSigns.Value ? TOps.Multiply(TOps.Load(ref x, i), TOps.Load(ref s, i)) : TOps.Load(ref x, i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TOps, TV, TLast>(TV v, ref float x, nint i, TV scale)
        where TOps : ISimd<TV> where TV : struct where TLast : IFlag
        => TOps.Store(TLast.Value ? TOps.Multiply(v, scale) : v, ref x, i);

    // Passes of radix 1..16: the 2^r vectors of each group (offsets from the pass bits) loaded into registers, r
    // butterfly stages, stored back; generated code, one line per butterfly.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass1<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint count, PassBits bits, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        (nint m0, nint m1, nint m2, nint m3, int shift) = bits.Masks;
        for (nint m = 0; m < count; m++)
        {
            nint j = PassBits.Start(m, m0, m1, m2, m3, shift);
            TV v0 = Load<TOps, TV, TSigns>(ref x, ref s, j);
            if (TFirst.Value)
            {
                v0 = TOps.InRegisterStage0(v0);
                v0 = TOps.InRegisterStage1(v0);
                v0 = TOps.InRegisterStage2(v0);
                v0 = TOps.InRegisterStage3(v0);
            }
            Store<TOps, TV, TLast>(v0, ref x, j, scale);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass2<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint count, PassBits bits, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        nint o0 = bits.Offset(0);
        (nint m0, nint m1, nint m2, nint m3, int shift) = bits.Masks;
        for (nint m = 0; m < count; m++)
        {
            nint j = PassBits.Start(m, m0, m1, m2, m3, shift);
            TV v0 = Load<TOps, TV, TSigns>(ref x, ref s, j);
            TV v1 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0);
            if (TFirst.Value)
            {
                v0 = TOps.InRegisterStage0(v0); v1 = TOps.InRegisterStage0(v1);
                v0 = TOps.InRegisterStage1(v0); v1 = TOps.InRegisterStage1(v1);
                v0 = TOps.InRegisterStage2(v0); v1 = TOps.InRegisterStage2(v1);
                v0 = TOps.InRegisterStage3(v0); v1 = TOps.InRegisterStage3(v1);
            }
            (v0, v1) = (TOps.Add(v0, v1), TOps.Subtract(v0, v1));
            Store<TOps, TV, TLast>(v0, ref x, j, scale);
            Store<TOps, TV, TLast>(v1, ref x, j + o0, scale);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass4<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint count, PassBits bits, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        nint o0 = bits.Offset(0), o1 = bits.Offset(1);
        (nint m0, nint m1, nint m2, nint m3, int shift) = bits.Masks;
        for (nint m = 0; m < count; m++)
        {
            nint j = PassBits.Start(m, m0, m1, m2, m3, shift);
            TV v0 = Load<TOps, TV, TSigns>(ref x, ref s, j);
            TV v1 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0);
            TV v2 = Load<TOps, TV, TSigns>(ref x, ref s, j + o1);
            TV v3 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o1);
            if (TFirst.Value)
            {
                v0 = TOps.InRegisterStage0(v0); v1 = TOps.InRegisterStage0(v1); v2 = TOps.InRegisterStage0(v2); v3 = TOps.InRegisterStage0(v3);
                v0 = TOps.InRegisterStage1(v0); v1 = TOps.InRegisterStage1(v1); v2 = TOps.InRegisterStage1(v2); v3 = TOps.InRegisterStage1(v3);
                v0 = TOps.InRegisterStage2(v0); v1 = TOps.InRegisterStage2(v1); v2 = TOps.InRegisterStage2(v2); v3 = TOps.InRegisterStage2(v3);
                v0 = TOps.InRegisterStage3(v0); v1 = TOps.InRegisterStage3(v1); v2 = TOps.InRegisterStage3(v2); v3 = TOps.InRegisterStage3(v3);
            }
            (v0, v1) = (TOps.Add(v0, v1), TOps.Subtract(v0, v1));
            (v2, v3) = (TOps.Add(v2, v3), TOps.Subtract(v2, v3));
            (v0, v2) = (TOps.Add(v0, v2), TOps.Subtract(v0, v2));
            (v1, v3) = (TOps.Add(v1, v3), TOps.Subtract(v1, v3));
            Store<TOps, TV, TLast>(v0, ref x, j, scale);
            Store<TOps, TV, TLast>(v1, ref x, j + o0, scale);
            Store<TOps, TV, TLast>(v2, ref x, j + o1, scale);
            Store<TOps, TV, TLast>(v3, ref x, j + o0 + o1, scale);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass8<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint count, PassBits bits, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        nint o0 = bits.Offset(0), o1 = bits.Offset(1), o2 = bits.Offset(2);
        (nint m0, nint m1, nint m2, nint m3, int shift) = bits.Masks;
        for (nint m = 0; m < count; m++)
        {
            nint j = PassBits.Start(m, m0, m1, m2, m3, shift);
            TV v0 = Load<TOps, TV, TSigns>(ref x, ref s, j);
            TV v1 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0);
            TV v2 = Load<TOps, TV, TSigns>(ref x, ref s, j + o1);
            TV v3 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o1);
            TV v4 = Load<TOps, TV, TSigns>(ref x, ref s, j + o2);
            TV v5 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o2);
            TV v6 = Load<TOps, TV, TSigns>(ref x, ref s, j + o1 + o2);
            TV v7 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o1 + o2);
            if (TFirst.Value)
            {
                v0 = TOps.InRegisterStage0(v0); v1 = TOps.InRegisterStage0(v1); v2 = TOps.InRegisterStage0(v2); v3 = TOps.InRegisterStage0(v3);
                v4 = TOps.InRegisterStage0(v4); v5 = TOps.InRegisterStage0(v5); v6 = TOps.InRegisterStage0(v6); v7 = TOps.InRegisterStage0(v7);
                v0 = TOps.InRegisterStage1(v0); v1 = TOps.InRegisterStage1(v1); v2 = TOps.InRegisterStage1(v2); v3 = TOps.InRegisterStage1(v3);
                v4 = TOps.InRegisterStage1(v4); v5 = TOps.InRegisterStage1(v5); v6 = TOps.InRegisterStage1(v6); v7 = TOps.InRegisterStage1(v7);
                v0 = TOps.InRegisterStage2(v0); v1 = TOps.InRegisterStage2(v1); v2 = TOps.InRegisterStage2(v2); v3 = TOps.InRegisterStage2(v3);
                v4 = TOps.InRegisterStage2(v4); v5 = TOps.InRegisterStage2(v5); v6 = TOps.InRegisterStage2(v6); v7 = TOps.InRegisterStage2(v7);
                v0 = TOps.InRegisterStage3(v0); v1 = TOps.InRegisterStage3(v1); v2 = TOps.InRegisterStage3(v2); v3 = TOps.InRegisterStage3(v3);
                v4 = TOps.InRegisterStage3(v4); v5 = TOps.InRegisterStage3(v5); v6 = TOps.InRegisterStage3(v6); v7 = TOps.InRegisterStage3(v7);
            }
            (v0, v1) = (TOps.Add(v0, v1), TOps.Subtract(v0, v1));
            (v2, v3) = (TOps.Add(v2, v3), TOps.Subtract(v2, v3));
            (v4, v5) = (TOps.Add(v4, v5), TOps.Subtract(v4, v5));
            (v6, v7) = (TOps.Add(v6, v7), TOps.Subtract(v6, v7));
            (v0, v2) = (TOps.Add(v0, v2), TOps.Subtract(v0, v2));
            (v1, v3) = (TOps.Add(v1, v3), TOps.Subtract(v1, v3));
            (v4, v6) = (TOps.Add(v4, v6), TOps.Subtract(v4, v6));
            (v5, v7) = (TOps.Add(v5, v7), TOps.Subtract(v5, v7));
            (v0, v4) = (TOps.Add(v0, v4), TOps.Subtract(v0, v4));
            (v1, v5) = (TOps.Add(v1, v5), TOps.Subtract(v1, v5));
            (v2, v6) = (TOps.Add(v2, v6), TOps.Subtract(v2, v6));
            (v3, v7) = (TOps.Add(v3, v7), TOps.Subtract(v3, v7));
            Store<TOps, TV, TLast>(v0, ref x, j, scale);
            Store<TOps, TV, TLast>(v1, ref x, j + o0, scale);
            Store<TOps, TV, TLast>(v2, ref x, j + o1, scale);
            Store<TOps, TV, TLast>(v3, ref x, j + o0 + o1, scale);
            Store<TOps, TV, TLast>(v4, ref x, j + o2, scale);
            Store<TOps, TV, TLast>(v5, ref x, j + o0 + o2, scale);
            Store<TOps, TV, TLast>(v6, ref x, j + o1 + o2, scale);
            Store<TOps, TV, TLast>(v7, ref x, j + o0 + o1 + o2, scale);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass16<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint count, PassBits bits, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        nint o0 = bits.Offset(0), o1 = bits.Offset(1), o2 = bits.Offset(2), o3 = bits.Offset(3);
        (nint m0, nint m1, nint m2, nint m3, int shift) = bits.Masks;
        for (nint m = 0; m < count; m++)
        {
            nint j = PassBits.Start(m, m0, m1, m2, m3, shift);
            TV v0 = Load<TOps, TV, TSigns>(ref x, ref s, j);
            TV v1 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0);
            TV v2 = Load<TOps, TV, TSigns>(ref x, ref s, j + o1);
            TV v3 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o1);
            TV v4 = Load<TOps, TV, TSigns>(ref x, ref s, j + o2);
            TV v5 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o2);
            TV v6 = Load<TOps, TV, TSigns>(ref x, ref s, j + o1 + o2);
            TV v7 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o1 + o2);
            TV v8 = Load<TOps, TV, TSigns>(ref x, ref s, j + o3);
            TV v9 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o3);
            TV v10 = Load<TOps, TV, TSigns>(ref x, ref s, j + o1 + o3);
            TV v11 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o1 + o3);
            TV v12 = Load<TOps, TV, TSigns>(ref x, ref s, j + o2 + o3);
            TV v13 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o2 + o3);
            TV v14 = Load<TOps, TV, TSigns>(ref x, ref s, j + o1 + o2 + o3);
            TV v15 = Load<TOps, TV, TSigns>(ref x, ref s, j + o0 + o1 + o2 + o3);
            if (TFirst.Value)
            {
                v0 = TOps.InRegisterStage0(v0); v1 = TOps.InRegisterStage0(v1); v2 = TOps.InRegisterStage0(v2); v3 = TOps.InRegisterStage0(v3);
                v4 = TOps.InRegisterStage0(v4); v5 = TOps.InRegisterStage0(v5); v6 = TOps.InRegisterStage0(v6); v7 = TOps.InRegisterStage0(v7);
                v8 = TOps.InRegisterStage0(v8); v9 = TOps.InRegisterStage0(v9); v10 = TOps.InRegisterStage0(v10); v11 = TOps.InRegisterStage0(v11);
                v12 = TOps.InRegisterStage0(v12); v13 = TOps.InRegisterStage0(v13); v14 = TOps.InRegisterStage0(v14); v15 = TOps.InRegisterStage0(v15);
                v0 = TOps.InRegisterStage1(v0); v1 = TOps.InRegisterStage1(v1); v2 = TOps.InRegisterStage1(v2); v3 = TOps.InRegisterStage1(v3);
                v4 = TOps.InRegisterStage1(v4); v5 = TOps.InRegisterStage1(v5); v6 = TOps.InRegisterStage1(v6); v7 = TOps.InRegisterStage1(v7);
                v8 = TOps.InRegisterStage1(v8); v9 = TOps.InRegisterStage1(v9); v10 = TOps.InRegisterStage1(v10); v11 = TOps.InRegisterStage1(v11);
                v12 = TOps.InRegisterStage1(v12); v13 = TOps.InRegisterStage1(v13); v14 = TOps.InRegisterStage1(v14); v15 = TOps.InRegisterStage1(v15);
                v0 = TOps.InRegisterStage2(v0); v1 = TOps.InRegisterStage2(v1); v2 = TOps.InRegisterStage2(v2); v3 = TOps.InRegisterStage2(v3);
                v4 = TOps.InRegisterStage2(v4); v5 = TOps.InRegisterStage2(v5); v6 = TOps.InRegisterStage2(v6); v7 = TOps.InRegisterStage2(v7);
                v8 = TOps.InRegisterStage2(v8); v9 = TOps.InRegisterStage2(v9); v10 = TOps.InRegisterStage2(v10); v11 = TOps.InRegisterStage2(v11);
                v12 = TOps.InRegisterStage2(v12); v13 = TOps.InRegisterStage2(v13); v14 = TOps.InRegisterStage2(v14); v15 = TOps.InRegisterStage2(v15);
                v0 = TOps.InRegisterStage3(v0); v1 = TOps.InRegisterStage3(v1); v2 = TOps.InRegisterStage3(v2); v3 = TOps.InRegisterStage3(v3);
                v4 = TOps.InRegisterStage3(v4); v5 = TOps.InRegisterStage3(v5); v6 = TOps.InRegisterStage3(v6); v7 = TOps.InRegisterStage3(v7);
                v8 = TOps.InRegisterStage3(v8); v9 = TOps.InRegisterStage3(v9); v10 = TOps.InRegisterStage3(v10); v11 = TOps.InRegisterStage3(v11);
                v12 = TOps.InRegisterStage3(v12); v13 = TOps.InRegisterStage3(v13); v14 = TOps.InRegisterStage3(v14); v15 = TOps.InRegisterStage3(v15);
            }
            (v0, v1) = (TOps.Add(v0, v1), TOps.Subtract(v0, v1));
            (v2, v3) = (TOps.Add(v2, v3), TOps.Subtract(v2, v3));
            (v4, v5) = (TOps.Add(v4, v5), TOps.Subtract(v4, v5));
            (v6, v7) = (TOps.Add(v6, v7), TOps.Subtract(v6, v7));
            (v8, v9) = (TOps.Add(v8, v9), TOps.Subtract(v8, v9));
            (v10, v11) = (TOps.Add(v10, v11), TOps.Subtract(v10, v11));
            (v12, v13) = (TOps.Add(v12, v13), TOps.Subtract(v12, v13));
            (v14, v15) = (TOps.Add(v14, v15), TOps.Subtract(v14, v15));
            (v0, v2) = (TOps.Add(v0, v2), TOps.Subtract(v0, v2));
            (v1, v3) = (TOps.Add(v1, v3), TOps.Subtract(v1, v3));
            (v4, v6) = (TOps.Add(v4, v6), TOps.Subtract(v4, v6));
            (v5, v7) = (TOps.Add(v5, v7), TOps.Subtract(v5, v7));
            (v8, v10) = (TOps.Add(v8, v10), TOps.Subtract(v8, v10));
            (v9, v11) = (TOps.Add(v9, v11), TOps.Subtract(v9, v11));
            (v12, v14) = (TOps.Add(v12, v14), TOps.Subtract(v12, v14));
            (v13, v15) = (TOps.Add(v13, v15), TOps.Subtract(v13, v15));
            (v0, v4) = (TOps.Add(v0, v4), TOps.Subtract(v0, v4));
            (v1, v5) = (TOps.Add(v1, v5), TOps.Subtract(v1, v5));
            (v2, v6) = (TOps.Add(v2, v6), TOps.Subtract(v2, v6));
            (v3, v7) = (TOps.Add(v3, v7), TOps.Subtract(v3, v7));
            (v8, v12) = (TOps.Add(v8, v12), TOps.Subtract(v8, v12));
            (v9, v13) = (TOps.Add(v9, v13), TOps.Subtract(v9, v13));
            (v10, v14) = (TOps.Add(v10, v14), TOps.Subtract(v10, v14));
            (v11, v15) = (TOps.Add(v11, v15), TOps.Subtract(v11, v15));
            (v0, v8) = (TOps.Add(v0, v8), TOps.Subtract(v0, v8));
            (v1, v9) = (TOps.Add(v1, v9), TOps.Subtract(v1, v9));
            (v2, v10) = (TOps.Add(v2, v10), TOps.Subtract(v2, v10));
            (v3, v11) = (TOps.Add(v3, v11), TOps.Subtract(v3, v11));
            (v4, v12) = (TOps.Add(v4, v12), TOps.Subtract(v4, v12));
            (v5, v13) = (TOps.Add(v5, v13), TOps.Subtract(v5, v13));
            (v6, v14) = (TOps.Add(v6, v14), TOps.Subtract(v6, v14));
            (v7, v15) = (TOps.Add(v7, v15), TOps.Subtract(v7, v15));
            Store<TOps, TV, TLast>(v0, ref x, j, scale);
            Store<TOps, TV, TLast>(v1, ref x, j + o0, scale);
            Store<TOps, TV, TLast>(v2, ref x, j + o1, scale);
            Store<TOps, TV, TLast>(v3, ref x, j + o0 + o1, scale);
            Store<TOps, TV, TLast>(v4, ref x, j + o2, scale);
            Store<TOps, TV, TLast>(v5, ref x, j + o0 + o2, scale);
            Store<TOps, TV, TLast>(v6, ref x, j + o1 + o2, scale);
            Store<TOps, TV, TLast>(v7, ref x, j + o0 + o1 + o2, scale);
            Store<TOps, TV, TLast>(v8, ref x, j + o3, scale);
            Store<TOps, TV, TLast>(v9, ref x, j + o0 + o3, scale);
            Store<TOps, TV, TLast>(v10, ref x, j + o1 + o3, scale);
            Store<TOps, TV, TLast>(v11, ref x, j + o0 + o1 + o3, scale);
            Store<TOps, TV, TLast>(v12, ref x, j + o2 + o3, scale);
            Store<TOps, TV, TLast>(v13, ref x, j + o0 + o2 + o3, scale);
            Store<TOps, TV, TLast>(v14, ref x, j + o1 + o2 + o3, scale);
            Store<TOps, TV, TLast>(v15, ref x, j + o0 + o1 + o2 + o3, scale);
        }
    }


    private interface IFlag { static abstract bool Value { get; } }
    private readonly struct Yes : IFlag { public static bool Value => true; }
    private readonly struct No : IFlag { public static bool Value => false; }

    /// <summary>The operations a vector width provides; InRegisterStage0..3 do stages h = 1, 2, 4, 8 (those beyond the width do nothing).</summary>
    private interface ISimd<TV> where TV : struct
    {
        static abstract int Count { get; }
        static abstract TV Load(ref float x, nint i);
        static abstract void Store(TV v, ref float x, nint i);
        static abstract TV Broadcast(float value);
        static abstract TV Add(TV a, TV b);
        static abstract TV Subtract(TV a, TV b);
        static abstract TV Multiply(TV a, TV b);
        static abstract TV InRegisterStage0(TV v);
        static abstract TV InRegisterStage1(TV v);
        static abstract TV InRegisterStage2(TV v);
        static abstract TV InRegisterStage3(TV v);
    }

    // In-register stage h: v[j] <- v[j] * sign[j] + v[j ^ h] with sign +1 where bit h of j is clear, -1 where set;
    // the multiply by +-1 is exact, so this rounds like the scalar a + b and a - b.
    private readonly struct Simd512 : ISimd<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;
        public static Vector512<float> Load(ref float x, nint i) => Vector512.LoadUnsafe(ref x, (nuint)i);
        public static void Store(Vector512<float> v, ref float x, nint i) => v.StoreUnsafe(ref x, (nuint)i);
        public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        // a - b as -(b * 1) + a (exact, same rounding): moves half the butterflies from the two add pipes to the two
        // FMA pipes of cores like Zen 4, measured a few percent faster.
        public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b)
            => Avx512F.IsSupported ? Avx512F.FusedMultiplyAddNegated(b, Vector512<float>.One, a) : a - b;
        public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> InRegisterStage0(Vector512<float> v) =>
            Vector512.MultiplyAddEstimate(v, Vector512.Create(1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f),
                Avx512F.IsSupported ? Avx512F.Permute4x32(v, 0b10_11_00_01) : Vector512.Shuffle(v, Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> InRegisterStage1(Vector512<float> v) =>
            Vector512.MultiplyAddEstimate(v, Vector512.Create(1f, 1f, -1f, -1f, 1f, 1f, -1f, -1f, 1f, 1f, -1f, -1f, 1f, 1f, -1f, -1f),
                Avx512F.IsSupported ? Avx512F.Permute4x32(v, 0b01_00_11_10) : Vector512.Shuffle(v, Vector512.Create(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> InRegisterStage2(Vector512<float> v) =>
            Vector512.MultiplyAddEstimate(v, Vector512.Create(1f, 1f, 1f, 1f, -1f, -1f, -1f, -1f, 1f, 1f, 1f, 1f, -1f, -1f, -1f, -1f),
                Avx512F.IsSupported ? Avx512F.Shuffle4x128(v, v, 0b10_11_00_01) : Vector512.Shuffle(v, Vector512.Create(4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> InRegisterStage3(Vector512<float> v) =>
            Vector512.MultiplyAddEstimate(v, Vector512.Create(1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, -1f, -1f, -1f, -1f, -1f, -1f, -1f, -1f),
                Avx512F.IsSupported ? Avx512F.Shuffle4x128(v, v, 0b01_00_11_10) : Vector512.Shuffle(v, Vector512.Create(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
    }

    private readonly struct Simd256 : ISimd<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;
        public static Vector256<float> Load(ref float x, nint i) => Vector256.LoadUnsafe(ref x, (nuint)i);
        public static void Store(Vector256<float> v, ref float x, nint i) => v.StoreUnsafe(ref x, (nuint)i);
        public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
        public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> InRegisterStage0(Vector256<float> v) =>
            Vector256.MultiplyAddEstimate(v, Vector256.Create(1f, -1f, 1f, -1f, 1f, -1f, 1f, -1f),
                Avx.IsSupported ? Avx.Permute(v, 0b10_11_00_01) : Vector256.Shuffle(v, Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> InRegisterStage1(Vector256<float> v) =>
            Vector256.MultiplyAddEstimate(v, Vector256.Create(1f, 1f, -1f, -1f, 1f, 1f, -1f, -1f),
                Avx.IsSupported ? Avx.Permute(v, 0b01_00_11_10) : Vector256.Shuffle(v, Vector256.Create(2, 3, 0, 1, 6, 7, 4, 5)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> InRegisterStage2(Vector256<float> v) =>
            Vector256.MultiplyAddEstimate(v, Vector256.Create(1f, 1f, 1f, 1f, -1f, -1f, -1f, -1f),
                Avx.IsSupported ? Avx.Permute2x128(v, v, 0x01) : Vector256.Shuffle(v, Vector256.Create(4, 5, 6, 7, 0, 1, 2, 3)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> InRegisterStage3(Vector256<float> v) => v;
    }

    private readonly struct Simd128 : ISimd<Vector128<float>>
    {
        public static int Count => Vector128<float>.Count;
        public static Vector128<float> Load(ref float x, nint i) => Vector128.LoadUnsafe(ref x, (nuint)i);
        public static void Store(Vector128<float> v, ref float x, nint i) => v.StoreUnsafe(ref x, (nuint)i);
        public static Vector128<float> Broadcast(float value) => Vector128.Create(value);
        public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
        public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
        public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> InRegisterStage0(Vector128<float> v) =>
            Vector128.MultiplyAddEstimate(v, Vector128.Create(1f, -1f, 1f, -1f), Vector128.Shuffle(v, Vector128.Create(1, 0, 3, 2)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> InRegisterStage1(Vector128<float> v) =>
            Vector128.MultiplyAddEstimate(v, Vector128.Create(1f, 1f, -1f, -1f), Vector128.Shuffle(v, Vector128.Create(2, 3, 0, 1)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> InRegisterStage2(Vector128<float> v) => v;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> InRegisterStage3(Vector128<float> v) => v;
    }
}
