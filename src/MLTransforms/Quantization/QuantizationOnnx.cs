using MLTransforms.Core.Onnx;

namespace MLTransforms.Quantization;

/// <summary>
/// The ONNX graphs of <see cref="EmbeddingQuantizerTransformer"/> and <see cref="EmbeddingDecoderTransformer"/>, with
/// standard operators only. The encoder repeats <see cref="EmbeddingQuantizer"/>'s exact arithmetic step for step:
/// one float subtraction and power-of-two scaling, Round (half to even, as MathF.Round), then the unnormalised
/// rotation as double MatMuls of ±1 Kronecker factors (H_p = H_a ⊗ H_b) on integer values, where every partial sum is
/// an exact integer; then the thresholds t_j sqrt(p N) (one Sqrt, one Mul) and Greater, and error shaping as a Loop
/// of the C# loop's steps. So the code bytes are equal, not close; the two scalars agree to float rounding.
/// </summary>
internal static class QuantizationOnnx
{
    private const long Float = 1, Int64 = 7, Double = 11;

    public static string EmitEncoder(OnnxGraphBuilder g, string input, EmbeddingQuantizer q)
    {
        int d = q.Dimension, p = q.PaddedDimension, levels = 1 << q.Bits;
        var axis1 = g.AddInitializer("axis1", [1L], 1);
        string centered = q.Centered ? g.AddNode("Sub", [input, g.AddInitializer("quant_mean", q.Mean, d)]) : input;
        var grid = g.AddNode("Round", [g.AddNode("Mul", [centered, g.AddInitializer("quant_grid", [q.Grid], 1)])]);
        var ints = g.AddNode("Cast", [grid], ("to", Double));
        var norm2 = g.AddNode("ReduceSum", [g.AddNode("Mul", [ints, ints]), axis1], ("keepdims", 1L));          // [N, 1]
        var z = Rotate(g, ints, q);                                                                               // [N, p]
        var s = g.AddNode("Sqrt", [g.AddNode("Mul", [norm2, g.AddDoubleInitializer("quant_p", [(double)p], 1)])]); // [N, 1]
        var t = g.AddNode("Mul", [g.AddNode("Unsqueeze", [s, g.AddInitializer("axis2", [2L], 1)]),
            g.AddDoubleInitializer("quant_thresholds", q.Thresholds, levels - 1)]);                                  // [N, 1, L-1]
        var above = g.AddNode("Greater", [g.AddNode("Unsqueeze", [z, g.AddInitializer("axis2b", [2L], 1)]), t]);   // [N, p, L-1]
        var codes = g.AddNode("ReduceSum", [g.AddNode("Cast", [above], ("to", Float)), g.AddInitializer("axis2c", [2L], 1)], ("keepdims", 0L)); // [N, p] cells
        if (q.ShapingPasses > 0)
            codes = g.AddNode("Cast", [EmitShaping(g, z, g.AddNode("Cast", [codes], ("to", Double)), q)], ("to", Float));
        if (!q.CellCodes.SequenceEqual(Enumerable.Range(0, levels).ToArray()))
            codes = g.AddNode("Gather", [g.AddInitializer("quant_cell_codes", q.CellCodes.ToArray().Select(c => (float)c).ToArray(), levels),
                g.AddNode("Cast", [codes], ("to", Int64))]);                                                          // [N, p] codes
        // Pack the little-endian bit stream: the code's bits [N, p, b], regrouped by 8 [N, bytes, 8], times 2^k.
        // Small integers, exact in float.
        string packed = codes;
        if (q.Bits < 8)
        {
            var bitPowers = new float[q.Bits];
            for (int j = 0; j < q.Bits; j++) bitPowers[j] = 1 << j;
            var bits = g.AddNode("Mod", [g.AddNode("Floor", [g.AddNode("Div", [g.AddNode("Unsqueeze", [codes, g.AddInitializer("axis2p", [2L], 1)]),
                g.AddInitializer("quant_bit_powers", bitPowers, q.Bits)])]), g.AddInitializer("quant_two", [2f], 1)], ("fmod", 1L)); // [N, p, b]
            var grouped = g.AddNode("Reshape", [bits, g.AddInitializer("quant_groups", [-1L, q.CodeBytes, 8], 3)]);
            packed = g.AddNode("Reshape", [g.AddNode("MatMul", [grouped, g.AddInitializer("quant_pack", BytePowers(), 8, 1)]),
                g.AddInitializer("quant_bytes", [-1L, q.CodeBytes], 2)]);
        }
        // f = N p / (2^e <ĉ, z>), 0 when N = 0; g = <x - μ, μ>.
        var levelVector = g.AddNode("Gather", [g.AddDoubleInitializer("quant_levels", q.Levels, levels), g.AddNode("Cast", [codes], ("to", Int64))]);
        var dot = g.AddNode("ReduceSum", [g.AddNode("Mul", [levelVector, z]), axis1], ("keepdims", 1L));
        var numerator = g.AddNode("Mul", [norm2, g.AddDoubleInitializer("quant_p2", [p / Math.ScaleB(1.0, q.GridExponent)], 1)]);
        var zero = g.AddDoubleInitializer("quant_zero", [0.0], 1);
        var degenerate = g.AddNode("Or", [g.AddNode("Equal", [norm2, zero]), g.AddNode("Equal", [dot, zero])]);
        var factor = g.AddNode("Cast", [g.AddNode("Where", [degenerate, zero, g.AddNode("Div", [numerator, dot])])], ("to", Float));
        string offset = q.Centered
            ? g.AddNode("ReduceSum", [g.AddNode("Mul", [centered, g.AddInitializer("quant_mean2", q.Mean, d)]), axis1], ("keepdims", 1L))
            : g.AddNode("Mul", [g.AddNode("ReduceSum", [input, axis1], ("keepdims", 1L)), g.AddInitializer("quant_zero_f", [0f], 1)]);
        return g.AddNode("Concat", [packed, factor, offset], ("axis", 1L));
    }

    /// <summary>
    /// <see cref="EmbeddingQuantizer"/>'s error shaping as a Loop of ShapingPasses x p steps, one coordinate per step,
    /// every row at once: the same double operations in the same order as the C# loop (a pass without a move leaves
    /// the state unchanged, so running every pass equals C#'s early stop). The initial P c, &lt;c, y&gt; and |P c|² are
    /// sums whose order may differ from C#'s in the last bit; the moves' relative margin absorbs that.
    /// </summary>
    /// <returns>The shaped cells [N, p], double.</returns>
    private static string EmitShaping(OnnxGraphBuilder g, string z, string cells, EmbeddingQuantizer q)
    {
        int p = q.PaddedDimension, top = q.SortedLevels.Length - 1;
        var axis1 = g.AddInitializer("shape_axis1", [1L], 1);
        var sorted = g.AddDoubleInitializer("shape_levels", q.SortedLevels, q.SortedLevels.Length);
        var projection = g.AddDoubleInitializer("shape_projection", q.ProjectionMatrix!, p, p);
        var diagonal = g.AddDoubleInitializer("shape_diagonal", Enumerable.Range(0, p).Select(i => q.ProjectionMatrix![i * p + i]).ToArray(), p);
        var c0 = g.AddNode("Gather", [sorted, g.AddNode("Cast", [cells], ("to", Int64))]);
        var v0 = g.AddNode("MatMul", [c0, projection]);                                                          // rows of P c (P symmetric)
        var num0 = g.AddNode("ReduceSum", [g.AddNode("Mul", [c0, z]), axis1], ("keepdims", 1L));
        var den0 = g.AddNode("ReduceSum", [g.AddNode("Mul", [v0, v0]), axis1], ("keepdims", 1L));

        var body = g.CreateSubgraph("shaping_step");
        string it = body.FreshName("it"), condIn = body.FreshName("cond_in");
        string kIn = body.FreshName("cells_in"), cIn = body.FreshName("levels_in"), vIn = body.FreshName("v_in"), numIn = body.FreshName("num_in"), denIn = body.FreshName("den_in");
        body.AddTypedInput(it, global::Onnx.TensorProto.Types.DataType.Int64, scalar: true);
        body.AddTypedInput(condIn, global::Onnx.TensorProto.Types.DataType.Bool, scalar: true);
        foreach (var name in new[] { kIn, cIn, vIn, numIn, denIn }) body.AddTypedInput(name, global::Onnx.TensorProto.Types.DataType.Double);
        var jj = body.AddNode("Mod", [body.AddNode("Unsqueeze", [it, body.AddInitializer("step_axis0", [0L], 1)]), body.AddInitializer("step_p", [(long)p], 1)]); // [1]
        var y = body.AddNode("Gather", [z, jj], ("axis", 1L));                                                   // [N, 1]
        var vj = body.AddNode("Gather", [vIn, jj], ("axis", 1L));
        var cj = body.AddNode("Gather", [cIn, jj], ("axis", 1L));
        var kj = body.AddNode("Gather", [kIn, jj], ("axis", 1L));
        var dj = body.AddNode("Gather", [diagonal, jj]);                                                         // [1]
        var row = body.AddNode("Gather", [projection, jj], ("axis", 0L));                                        // [1, p]
        var zero = body.AddDoubleInitializer("step_zero", [0.0], 1);
        var two = body.AddDoubleInitializer("step_two", [2.0], 1);
        var margin = body.AddDoubleInitializer("step_margin", [EmbeddingQuantizer.ShapingMargin], 1);
        var lowest = body.AddDoubleInitializer("step_lowest", [0.0], 1);
        var highest = body.AddDoubleInitializer("step_highest", [(double)top], 1);
        var best0 = body.AddNode("Div", [body.AddNode("Mul", [numIn, numIn]), denIn]);

        (string Ok, string Best, string K, string Level, string Delta, string Num, string Den) Candidate(double step, string bestIn)
        {
            var k2 = body.AddNode("Add", [kj, body.AddDoubleInitializer("step_dk", [step], 1)]);
            var valid = body.AddNode("And", [body.AddNode("GreaterOrEqual", [k2, lowest]), body.AddNode("LessOrEqual", [k2, highest])]);
            var level = body.AddNode("Gather", [sorted, body.AddNode("Cast", [body.AddNode("Clip", [k2, lowest, highest])], ("to", Int64))]);
            var delta = body.AddNode("Sub", [level, cj]);
            var n2 = body.AddNode("Add", [numIn, body.AddNode("Mul", [delta, y])]);
            var d2 = body.AddNode("Add", [body.AddNode("Add", [denIn, body.AddNode("Mul", [body.AddNode("Mul", [two, delta]), vj])]),
                body.AddNode("Mul", [body.AddNode("Mul", [delta, delta]), dj])]);
            var j2 = body.AddNode("Div", [body.AddNode("Mul", [n2, n2]), d2]);
            var ok = body.AddNode("And", [valid, body.AddNode("And", [body.AddNode("Greater", [n2, zero]), body.AddNode("Greater", [j2, body.AddNode("Mul", [bestIn, margin])])])]);
            return (ok, body.AddNode("Where", [ok, j2, bestIn]), k2, level, delta, n2, d2);
        }

        var down = Candidate(-1, best0);
        var up = Candidate(1, down.Best);
        string Pick(string u, string dn, string keep) => body.AddNode("Where", [up.Ok, u, body.AddNode("Where", [down.Ok, dn, keep])]);
        var newK = Pick(up.K, down.K, kj);
        var newC = Pick(up.Level, down.Level, cj);
        var delta = Pick(up.Delta, down.Delta, zero);
        var num = Pick(up.Num, down.Num, numIn);
        var den = Pick(up.Den, down.Den, denIn);
        var v = body.AddNode("Add", [vIn, body.AddNode("Mul", [delta, row])]);
        var index = body.AddNode("Expand", [body.AddNode("Reshape", [jj, body.AddInitializer("step_one_one", [1L, 1L], 2)]), body.AddNode("Shape", [numIn])]); // [N, 1]
        var k = body.AddNode("ScatterElements", [kIn, index, newK], ("axis", 1L));
        var c = body.AddNode("ScatterElements", [cIn, index, newC], ("axis", 1L));
        var condOut = body.AddNode("Identity", [condIn]);
        body.AddTypedOutput(condOut, global::Onnx.TensorProto.Types.DataType.Bool, scalar: true);
        foreach (var name in new[] { k, c, v, num, den }) body.AddTypedOutput(name, global::Onnx.TensorProto.Types.DataType.Double);

        var trips = g.AddInitializer("shape_trips", [(long)q.ShapingPasses * p], 1);
        var scalarTrips = g.AddNode("Squeeze", [trips, g.AddInitializer("shape_axis0", [0L], 1)]);
        var outputs = g.AddMultiOutputNode("Loop", [scalarTrips, "", cells, c0, v0, num0, den0], 5, ("body", body.Graph));
        return outputs[0];
    }

    /// <summary>[N, d] double -> [N, p] double: zero-pad, then per block Mul by the signs and the ±1 Kronecker factors.</summary>
    private static string Rotate(OnnxGraphBuilder g, string x, EmbeddingQuantizer q)
    {
        int d = q.Dimension, p = q.PaddedDimension;
        int log2 = System.Numerics.BitOperations.Log2((uint)p);
        int a = 1 << (log2 / 2), b = p / a;
        if (p != d)
            x = g.AddNode("Pad", [x, g.AddInitializer("quant_pads", [0L, 0L, 0L, p - d], 4)], ("mode", "constant"));
        x = g.AddNode("Reshape", [x, g.AddInitializer("quant_shape3", [-1L, a, b], 3)]);
        var hb = g.AddDoubleInitializer($"quant_h{b}", Hadamard(b), b, b);
        var ha = a == b ? hb : g.AddDoubleInitializer($"quant_h{a}", Hadamard(a), a, a);
        for (int block = 0; block < q.ExactSigns.Length; block++)
        {
            x = g.AddNode("Mul", [x, g.AddDoubleInitializer($"quant_signs{block}", q.ExactSigns[block], a, b)]);
            x = g.AddNode("MatMul", [ha, g.AddNode("MatMul", [x, hb])]);
        }
        return g.AddNode("Reshape", [x, g.AddInitializer("quant_shape2", [-1L, p], 2)]);
    }

    public static string EmitDecoder(OnnxGraphBuilder g, string input, EmbeddingQuantizer q)
    {
        int d = q.Dimension, p = q.PaddedDimension, levels = 1 << q.Bits, bytes = q.CodeBytes;
        var axis1 = g.AddInitializer("axis1", [1L], 1);
        var codeBytes = g.AddNode("Slice", [input, g.AddInitializer("dq_start", [0L], 1), g.AddInitializer("dq_end", [(long)bytes], 1), axis1]);
        var factor = g.AddNode("Slice", [input, g.AddInitializer("dq_fstart", [(long)bytes], 1), g.AddInitializer("dq_fend", [(long)bytes + 1], 1), axis1]);
        // Unpack the bit stream: each byte's 8 bits [N, bytes, 8], regrouped by b [N, p, b], times 2^j.
        string codes = codeBytes;
        if (q.Bits < 8)
        {
            var bits = g.AddNode("Mod", [g.AddNode("Floor", [g.AddNode("Div", [g.AddNode("Unsqueeze", [codeBytes, g.AddInitializer("axis2", [2L], 1)]),
                g.AddInitializer("dq_pow", BytePowers(), 8)])]), g.AddInitializer("dq_two", [2f], 1)], ("fmod", 1L));        // [N, B, 8]
            var powers = new float[q.Bits];
            for (int j = 0; j < q.Bits; j++) powers[j] = 1 << j;
            var grouped = g.AddNode("Reshape", [bits, g.AddInitializer("dq_groups", [-1L, p, q.Bits], 3)]);
            codes = g.AddNode("Reshape", [g.AddNode("MatMul", [grouped, g.AddInitializer("dq_code_powers", powers, q.Bits, 1)]),
                g.AddInitializer("dq_shape", [-1L, p], 2)]);
        }
        var y = g.AddNode("Mul", [g.AddNode("Gather", [g.AddInitializer("dq_levels", q.LevelsSingle, levels), g.AddNode("Cast", [codes], ("to", Int64))]), factor]);
        // x = R^T y = D_1 H D_2 H ... y with normalised factors.
        int log2 = System.Numerics.BitOperations.Log2((uint)p);
        int a = 1 << (log2 / 2), b = p / a;
        var x = g.AddNode("Reshape", [y, g.AddInitializer("dq_shape3", [-1L, a, b], 3)]);
        var hb = g.AddInitializer($"dq_h{b}", Scaled(Hadamard(b), 1 / Math.Sqrt(b)), b, b);
        var ha = g.AddInitializer($"dq_h{a}", Scaled(Hadamard(a), 1 / Math.Sqrt(a)), a, a);
        for (int block = q.Rotation.Blocks - 1; block >= 0; block--)
        {
            x = g.AddNode("MatMul", [ha, g.AddNode("MatMul", [x, hb])]);
            x = g.AddNode("Mul", [x, g.AddInitializer($"dq_signs{block}", q.Rotation.Signs(block), a, b)]);
        }
        x = g.AddNode("Reshape", [x, g.AddInitializer("dq_shape2", [-1L, p], 2)]);
        if (p != d)
            x = g.AddNode("Slice", [x, g.AddInitializer("dq_xstart", [0L], 1), g.AddInitializer("dq_xend", [(long)d], 1), axis1]);
        return q.Centered ? g.AddNode("Add", [x, g.AddInitializer("dq_mean", q.Mean, d)]) : x;
    }

    private static float[] BytePowers() => [1, 2, 4, 8, 16, 32, 64, 128];

    /// <summary>The n x n Sylvester Hadamard matrix with ±1 entries, row-major.</summary>
    private static double[] Hadamard(int n)
    {
        var h = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                h[i * n + j] = (System.Numerics.BitOperations.PopCount((uint)(i & j)) & 1) == 0 ? 1 : -1;
        return h;
    }

    private static float[] Scaled(double[] h, double scale) => h.Select(v => (float)(v * scale)).ToArray();
}
