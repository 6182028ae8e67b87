using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MLTransforms.Rotations;

// Vector kernels of the FWHT, written once over the vector type: every width runs the same butterflies in the same
// order as the scalar loop, so all paths agree to the last bit (signs and scale enter as separate multiplies).
public static partial class WalshHadamard
{
    // Blocks that are transformed completely before the stages that span them (FFHT's recursion): an L1-sized
    // block (16 KB, the transform is in place) inside an L2-sized one (512 KB).
    private const int L1BlockLog2Floats = 12;
    private const int L2BlockLog2Floats = 17;

    // Passes whose stride is at least this many floats (4 KB) use radix 8 at most: 16 streams 4 KB apart all map to
    // one set of the 8-way L1 and evict each other between the loads and the stores.
    private const int LargeStrideFloats = 1024;

    // Radix of a pass: 16 vectors in flight need 32 vector registers (AVX-512 or Arm64), else 8.
    private static readonly int MaxLog2Radix = Avx512F.IsSupported || AdvSimd.Arm64.IsSupported ? 4 : 3;

    /// <summary>x &lt;- scale * H (signs (.) x) for one row of length Count * 2^log2Vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunVector<TOps, TV>(ref float x, ref float s, int log2Vectors, bool hasSigns, float scale)
        where TOps : ISimd<TV> where TV : struct
    {
        // Rows that fit in L1 (the common case) skip the recursion.
        bool small = log2Vectors <= L1BlockLog2Floats - BitOperations.Log2((uint)TOps.Count);
        if (hasSigns)
        {
            if (small) Stages<TOps, TV, Yes>(ref x, ref s, log2Vectors, 0, log2Vectors, scale, scale != 1f);
            else Recurse<TOps, TV, Yes>(ref x, ref s, log2Vectors, scale, scale != 1f);
        }
        else
        {
            if (small) Stages<TOps, TV, No>(ref x, ref s, log2Vectors, 0, log2Vectors, scale, scale != 1f);
            else Recurse<TOps, TV, No>(ref x, ref s, log2Vectors, scale, scale != 1f);
        }
    }

    // Transforms each cache-sized sub-block fully, then runs the stages across sub-blocks.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Recurse<TOps, TV, TSigns>(ref float x, ref float s, int k, float scale, bool scaled)
        where TOps : ISimd<TV> where TV : struct where TSigns : IFlag
    {
        int log2Count = BitOperations.Log2((uint)TOps.Count);
        int l1 = L1BlockLog2Floats - log2Count, l2 = L2BlockLog2Floats - log2Count;
        if (k <= l1)
        {
            Stages<TOps, TV, TSigns>(ref x, ref s, k, 0, k, scale, scaled);
            return;
        }
        int sub = k <= l2 ? l1 : l2;
        nint subFloats = (nint)TOps.Count << sub;
        for (nint b = 0; b < (nint)1 << (k - sub); b++)
            Recurse<TOps, TV, TSigns>(ref Unsafe.Add(ref x, b * subFloats), ref TSigns.Value ? ref Unsafe.Add(ref s, b * subFloats) : ref s,
                sub, 1f, false);
        Stages<TOps, TV, No>(ref x, ref s, k, sub, k, scale, scaled);
    }

    // Cross-vector stages [from, to) of a block of 2^k vectors, in passes of up to MaxLog2Radix stages each; the
    // pass that starts at stage 0 also does the in-register stages and the sign flip, the last one the scaling.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Stages<TOps, TV, TSigns>(ref float x, ref float s, int k, int from, int to, float scale, bool scaled)
        where TOps : ISimd<TV> where TV : struct where TSigns : IFlag
    {
        nint n = (nint)TOps.Count << k;
        TV scaleVector = TOps.Broadcast(scale);
        int stage = from;
        do
        {
            nint h = (nint)TOps.Count << stage;
            int cap = h >= LargeStrideFloats ? Math.Min(3, MaxLog2Radix) : MaxLog2Radix;
            int passes = Math.Max(1, (to - stage + cap - 1) / cap);
            int radix = (to - stage + passes - 1) / passes;
            bool last = stage + radix == to && scaled;
            if (stage == 0)
            {
                if (last) Pass<TOps, TV, Yes, TSigns, Yes>(ref x, ref s, n, h, radix, scaleVector);
                else Pass<TOps, TV, Yes, TSigns, No>(ref x, ref s, n, h, radix, scaleVector);
            }
            else
            {
                if (last) Pass<TOps, TV, No, No, Yes>(ref x, ref s, n, h, radix, scaleVector);
                else Pass<TOps, TV, No, No, No>(ref x, ref s, n, h, radix, scaleVector);
            }
            stage += radix;
        }
        while (stage < to);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pass<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint n, nint h, int log2Radix, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        switch (log2Radix)
        {
            case 0: Pass1<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, n, h, scale); break;
            case 1: Pass2<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, n, h, scale); break;
            case 2: Pass4<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, n, h, scale); break;
            case 3: Pass8<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, n, h, scale); break;
            default: Pass16<TOps, TV, TFirst, TSigns, TLast>(ref x, ref s, n, h, scale); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Load<TOps, TV, TSigns>(ref float x, ref float s, nint i)
        where TOps : ISimd<TV> where TV : struct where TSigns : IFlag
        => TSigns.Value ? TOps.Multiply(TOps.Load(ref x, i), TOps.Load(ref s, i)) : TOps.Load(ref x, i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TOps, TV, TLast>(TV v, ref float x, nint i, TV scale)
        where TOps : ISimd<TV> where TV : struct where TLast : IFlag
        => TOps.Store(TLast.Value ? TOps.Multiply(v, scale) : v, ref x, i);

    // Passes of radix 1..16: 2^L vectors at stride h loaded into registers, L butterfly stages, stored back.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass1<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint n, nint h, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        for (nint g = 0; g < n; g += 1 * h)
            for (nint j = g; j < g + h; j += TOps.Count)
            {
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
    private static void Pass2<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint n, nint h, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        for (nint g = 0; g < n; g += 2 * h)
            for (nint j = g; j < g + h; j += TOps.Count)
            {
                TV v0 = Load<TOps, TV, TSigns>(ref x, ref s, j);
                TV v1 = Load<TOps, TV, TSigns>(ref x, ref s, j + h);
                if (TFirst.Value)
                {
                    v0 = TOps.InRegisterStage0(v0); v1 = TOps.InRegisterStage0(v1);
                    v0 = TOps.InRegisterStage1(v0); v1 = TOps.InRegisterStage1(v1);
                    v0 = TOps.InRegisterStage2(v0); v1 = TOps.InRegisterStage2(v1);
                    v0 = TOps.InRegisterStage3(v0); v1 = TOps.InRegisterStage3(v1);
                }
                (v0, v1) = (TOps.Add(v0, v1), TOps.Subtract(v0, v1));
                Store<TOps, TV, TLast>(v0, ref x, j, scale);
                Store<TOps, TV, TLast>(v1, ref x, j + h, scale);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass4<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint n, nint h, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        for (nint g = 0; g < n; g += 4 * h)
            for (nint j = g; j < g + h; j += TOps.Count)
            {
                TV v0 = Load<TOps, TV, TSigns>(ref x, ref s, j);
                TV v1 = Load<TOps, TV, TSigns>(ref x, ref s, j + h);
                TV v2 = Load<TOps, TV, TSigns>(ref x, ref s, j + 2 * h);
                TV v3 = Load<TOps, TV, TSigns>(ref x, ref s, j + 3 * h);
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
                Store<TOps, TV, TLast>(v1, ref x, j + h, scale);
                Store<TOps, TV, TLast>(v2, ref x, j + 2 * h, scale);
                Store<TOps, TV, TLast>(v3, ref x, j + 3 * h, scale);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass8<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint n, nint h, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        for (nint g = 0; g < n; g += 8 * h)
            for (nint j = g; j < g + h; j += TOps.Count)
            {
                TV v0 = Load<TOps, TV, TSigns>(ref x, ref s, j);
                TV v1 = Load<TOps, TV, TSigns>(ref x, ref s, j + h);
                TV v2 = Load<TOps, TV, TSigns>(ref x, ref s, j + 2 * h);
                TV v3 = Load<TOps, TV, TSigns>(ref x, ref s, j + 3 * h);
                TV v4 = Load<TOps, TV, TSigns>(ref x, ref s, j + 4 * h);
                TV v5 = Load<TOps, TV, TSigns>(ref x, ref s, j + 5 * h);
                TV v6 = Load<TOps, TV, TSigns>(ref x, ref s, j + 6 * h);
                TV v7 = Load<TOps, TV, TSigns>(ref x, ref s, j + 7 * h);
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
                Store<TOps, TV, TLast>(v1, ref x, j + h, scale);
                Store<TOps, TV, TLast>(v2, ref x, j + 2 * h, scale);
                Store<TOps, TV, TLast>(v3, ref x, j + 3 * h, scale);
                Store<TOps, TV, TLast>(v4, ref x, j + 4 * h, scale);
                Store<TOps, TV, TLast>(v5, ref x, j + 5 * h, scale);
                Store<TOps, TV, TLast>(v6, ref x, j + 6 * h, scale);
                Store<TOps, TV, TLast>(v7, ref x, j + 7 * h, scale);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass16<TOps, TV, TFirst, TSigns, TLast>(ref float x, ref float s, nint n, nint h, TV scale)
        where TOps : ISimd<TV> where TV : struct where TFirst : IFlag where TSigns : IFlag where TLast : IFlag
    {
        for (nint g = 0; g < n; g += 16 * h)
            for (nint j = g; j < g + h; j += TOps.Count)
            {
                TV v0 = Load<TOps, TV, TSigns>(ref x, ref s, j);
                TV v1 = Load<TOps, TV, TSigns>(ref x, ref s, j + h);
                TV v2 = Load<TOps, TV, TSigns>(ref x, ref s, j + 2 * h);
                TV v3 = Load<TOps, TV, TSigns>(ref x, ref s, j + 3 * h);
                TV v4 = Load<TOps, TV, TSigns>(ref x, ref s, j + 4 * h);
                TV v5 = Load<TOps, TV, TSigns>(ref x, ref s, j + 5 * h);
                TV v6 = Load<TOps, TV, TSigns>(ref x, ref s, j + 6 * h);
                TV v7 = Load<TOps, TV, TSigns>(ref x, ref s, j + 7 * h);
                TV v8 = Load<TOps, TV, TSigns>(ref x, ref s, j + 8 * h);
                TV v9 = Load<TOps, TV, TSigns>(ref x, ref s, j + 9 * h);
                TV v10 = Load<TOps, TV, TSigns>(ref x, ref s, j + 10 * h);
                TV v11 = Load<TOps, TV, TSigns>(ref x, ref s, j + 11 * h);
                TV v12 = Load<TOps, TV, TSigns>(ref x, ref s, j + 12 * h);
                TV v13 = Load<TOps, TV, TSigns>(ref x, ref s, j + 13 * h);
                TV v14 = Load<TOps, TV, TSigns>(ref x, ref s, j + 14 * h);
                TV v15 = Load<TOps, TV, TSigns>(ref x, ref s, j + 15 * h);
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
                Store<TOps, TV, TLast>(v1, ref x, j + h, scale);
                Store<TOps, TV, TLast>(v2, ref x, j + 2 * h, scale);
                Store<TOps, TV, TLast>(v3, ref x, j + 3 * h, scale);
                Store<TOps, TV, TLast>(v4, ref x, j + 4 * h, scale);
                Store<TOps, TV, TLast>(v5, ref x, j + 5 * h, scale);
                Store<TOps, TV, TLast>(v6, ref x, j + 6 * h, scale);
                Store<TOps, TV, TLast>(v7, ref x, j + 7 * h, scale);
                Store<TOps, TV, TLast>(v8, ref x, j + 8 * h, scale);
                Store<TOps, TV, TLast>(v9, ref x, j + 9 * h, scale);
                Store<TOps, TV, TLast>(v10, ref x, j + 10 * h, scale);
                Store<TOps, TV, TLast>(v11, ref x, j + 11 * h, scale);
                Store<TOps, TV, TLast>(v12, ref x, j + 12 * h, scale);
                Store<TOps, TV, TLast>(v13, ref x, j + 13 * h, scale);
                Store<TOps, TV, TLast>(v14, ref x, j + 14 * h, scale);
                Store<TOps, TV, TLast>(v15, ref x, j + 15 * h, scale);
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
