using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Quantization;
using static MLTransforms.Tests.Quantization.QuantizationTestData;

namespace MLTransforms.Tests.Quantization;

public class EmbeddingQuantizerTests
{
    public static TheoryData<int> Bits => new(1, 2, 3, 4, 8);

    private static EmbeddingQuantizer Fit(float[] data, int rows, int dim, int bits, bool center = true, int seed = 5)
        => EmbeddingQuantizer.Fit(data, rows, dim, new EmbeddingQuantizerOptions { Bits = bits, Center = center, Seed = seed });

    [Fact]
    public void OneBitEstimatorIsUnbiasedOverTheRotation()
    {
        // Pairs with a true inner product near 0.6; each estimate under a fresh rotation (seed).
        const int dim = 96, pairs = 3000;
        var rng = new Random(3);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        double sumError = 0, sumNaive = 0, sumSquares = 0;
        var sample = new float[dim];
        for (int t = 0; t < pairs; t++)
        {
            var x = Unit(Enumerable.Range(0, dim).Select(_ => Gauss()).ToArray());
            var noise = Unit(Enumerable.Range(0, dim).Select(_ => Gauss()).ToArray());
            var qd = Unit(x.Zip(noise, (a, b) => 0.6 * a + 0.8 * b).ToArray());
            var xs = x.Select(v => (float)v).ToArray();
            var qs = qd.Select(v => (float)v).ToArray();
            for (int i = 0; i < dim; i++) sample[i] = (float)Gauss();
            var quantizer = EmbeddingQuantizer.Fit(sample, 1, dim, new EmbeddingQuantizerOptions { Bits = 1, Center = false, Seed = t });
            var code = new byte[quantizer.CodeBytes];
            quantizer.Encode(xs, code, out float f, out float g);
            double truth = Dot(xs, qs);
            double estimate = quantizer.EstimateDot(qs, code, f, g);
            // The naive estimate ||x|| <ĉ / ||ĉ||, R q> (no RaBitQ correction) shrinks by about sqrt(2 / π).
            var r = new float[quantizer.PaddedDimension];
            quantizer.PrepareQuery(qs, r);
            double naive = 0;
            for (int i = 0; i < r.Length; i++) naive += quantizer.Levels[quantizer.CodeAt(code, i)] * r[i];
            naive /= Math.Sqrt(quantizer.PaddedDimension);
            sumError += estimate - truth;
            sumSquares += (estimate - truth) * (estimate - truth);
            sumNaive += naive - truth;
        }
        double bias = sumError / pairs, rms = Math.Sqrt(sumSquares / pairs), naiveBias = sumNaive / pairs;
        // Standard error of the mean is rms / sqrt(3000) ≈ 0.002; a biased estimator (the naive one: about -0.12) fails.
        Assert.True(Math.Abs(bias) < 5 * rms / Math.Sqrt(pairs), $"1-bit estimator bias {bias:G4} (rms error {rms:G4})");
        Assert.True(naiveBias < -0.05, $"naive estimator bias {naiveBias:G4} should be clearly negative: the test must be able to fail");
        Assert.True(rms < 0.15, $"rms error {rms:G4}");
    }

    [Theory]
    [MemberData(nameof(Bits))]
    public void DecodeErrorIsBoundedPerBitWidth(int bits)
    {
        const int dim = 120, rows = 400;
        var data = SyntheticEmbeddings(rows, dim, seed: 2);
        var q = Fit(data, rows, dim, bits);
        double error = 0, energy = 0;
        var code = new byte[q.CodeBytes];
        var decoded = new float[dim];
        for (int r = 0; r < rows; r++)
        {
            var x = Row(data, dim, r);
            q.Encode(x, code, out float f, out _);
            q.Decode(code, f, decoded);
            for (int i = 0; i < dim; i++)
            {
                error += Math.Pow(x[i] - decoded[i], 2);
                energy += Math.Pow(x[i] - q.Mean[i], 2);
            }
        }
        double relative = error / energy;
        // Gaussian theory with f = ||y||² / <ĉ, y>: 1 bit 1/cos² - 1 ≈ 0.57, 2 bits ≈ 0.13, 3 bits ≈ 0.036, 4 bits ≈ 0.0096, 8 bits ≈ 1e-4.
        double bound = bits switch { 1 => 0.7, 2 => 0.16, 3 => 0.05, 4 => 0.013, _ => 3e-4 };
        double floor = bits switch { 1 => 0.4, 2 => 0.08, 3 => 0.02, 4 => 0.005, _ => 1e-5 };
        Assert.InRange(relative, floor, bound);
    }

    [Theory]
    [MemberData(nameof(Bits))]
    public void EncodeDecodeEncodeGivesTheSameCodes(int bits)
    {
        // A power of two: with padding (d < p) decoding drops the padded coordinates of R^T (f ĉ), so re-encoding
        // the decoded vector is close to, not equal to, the code.
        const int dim = 128, rows = 300;
        var data = SyntheticEmbeddings(rows, dim, seed: 4);
        var q = Fit(data, rows, dim, bits);
        var code = new byte[q.CodeBytes];
        var again = new byte[q.CodeBytes];
        var decoded = new float[dim];
        long same = 0, total = 0;
        for (int r = 0; r < rows; r++)
        {
            q.Encode(Row(data, dim, r), code, out float f, out _);
            q.Decode(code, f, decoded);
            q.Encode(decoded, again, out float f2, out _);
            for (int i = 0; i < q.PaddedDimension; i++, total++)
                if (q.CodeAt(code, i) == q.CodeAt(again, i)) same++;
            if (bits < 8)
            {
                Assert.Equal(code, again);
                Assert.Equal(f, f2, 1e-3f * Math.Abs(f));
            }
        }
        // 8 bits: a decoded vector's levels, re-standardised by its own norm, can cross a cell edge of width 0.03 at the tails.
        Assert.True(same >= 0.995 * total, $"{bits} bits: {same} of {total} codes survive encode -> decode -> encode");
    }

    [Fact]
    public void CodesArePackedLowBitsFirstAndCountThresholdsBelow()
    {
        const int dim = 64, rows = 50;
        var data = SyntheticEmbeddings(rows, dim, seed: 6);
        foreach (int bits in new[] { 1, 2, 3, 4, 8 })
        {
            var q = Fit(data, rows, dim, bits);
            Assert.Equal(q.PaddedDimension * bits / 8, q.CodeBytes);
            Assert.Equal(q.CodeBytes + 8, q.BytesPerVector);
            var code = new byte[q.CodeBytes];
            q.Encode(Row(data, dim, 3), code, out _, out _);
            // Recompute the standardised coordinates in double from the float rotation: each code is its cell (up to rounding at a cell edge).
            var x = Row(data, dim, 3).ToArray();
            var y = new float[q.PaddedDimension];
            for (int i = 0; i < dim; i++) x[i] -= q.Mean[i];
            q.Rotation.Apply(x, y);
            double norm = Math.Sqrt(y.Sum(v => (double)v * v));
            int agree = 0;
            for (int i = 0; i < q.PaddedDimension; i++)
            {
                double u = y[i] * Math.Sqrt(q.PaddedDimension) / norm;
                int expected = q.CellCodes[q.Thresholds.ToArray().Count(t => t < u)];
                if (expected == q.CodeAt(code, i)) agree++;
            }
            Assert.True(agree >= q.PaddedDimension - 1, $"{bits} bits: {agree} of {q.PaddedDimension} codes are the cell of their coordinate");
            // The little-endian bit stream, read by hand: coordinate i is bits i b .. i b + b - 1 (a 3-bit code straddles bytes).
            for (int i = 0; i < q.PaddedDimension; i++)
            {
                int byHand = 0;
                for (int j = 0; j < bits; j++)
                {
                    int bit = i * bits + j;
                    byHand |= ((code[bit / 8] >> (bit % 8)) & 1) << j;
                }
                Assert.Equal(byHand, q.CodeAt(code, i));
            }
        }
    }

    /// <summary>Error shaping into the padding (96 padded to 128): a code moves one cell per pass at most,
    /// the cosine within the inputs' subspace between the levels and the rotated vector (computed here with the float
    /// rotation, P ĉ = R [(Rᵀ ĉ)[..d]; 0]) never falls and rises on average, and the decoded vectors come closer to
    /// the inputs. A power-of-two dimension has no padding, so it is not shaped.</summary>
    [Theory]
    [MemberData(nameof(Bits))]
    public void ShapingMovesErrorOutOfTheInputSubspace(int bits)
    {
        const int dim = 96, rows = 300;
        var data = SyntheticEmbeddings(rows, dim, seed: 12);
        var plain = EmbeddingQuantizer.Fit(data, rows, dim, new EmbeddingQuantizerOptions { Bits = bits, Seed = 4, ShapingPasses = 0 });
        var shaped = EmbeddingQuantizer.Fit(data, rows, dim, new EmbeddingQuantizerOptions { Bits = bits, Seed = 4 });
        Assert.Equal(0, plain.ShapingPasses);
        Assert.Equal(4, shaped.ShapingPasses);
        int p = shaped.PaddedDimension;
        var rank = new int[1 << bits];
        for (int k = 0; k < rank.Length; k++) rank[shaped.CellCodes[k]] = k;
        double gain = 0, errorPlain = 0, errorShaped = 0;
        int moved = 0;
        var (c1, c2) = (new byte[shaped.CodeBytes], new byte[shaped.CodeBytes]);
        var decoded = new float[dim];
        for (int r = 0; r < rows; r++)
        {
            var x = Row(data, dim, r);
            plain.Encode(x, c1, out float f1, out _);
            shaped.Encode(x, c2, out float f2, out _);
            var y = new float[p];
            var centred = x.ToArray();
            for (int i = 0; i < dim; i++) centred[i] -= shaped.Mean[i];
            shaped.Rotation.Apply(centred, y);
            double Cosine2(byte[] code)
            {
                var c = new float[p];
                for (int i = 0; i < p; i++) c[i] = (float)shaped.Levels[shaped.CodeAt(code, i)];
                var back = new float[p];
                shaped.Rotation.ApplyInverse(c, back.AsSpan(0, dim));
                var pc = new float[p];
                shaped.Rotation.Apply(back.AsSpan(0, dim), pc);
                double num = 0, den = 0, yy = 0;
                for (int i = 0; i < p; i++) { num += c[i] * y[i]; den += pc[i] * pc[i]; yy += y[i] * y[i]; }
                return num * num / (den * yy);
            }
            double before = Cosine2(c1), after = Cosine2(c2);
            Assert.True(after >= before - 1e-6, $"{bits} bits, row {r}: shaping lowered the cosine² from {before:G6} to {after:G6}");
            gain += after - before;
            for (int i = 0; i < p; i++)
            {
                int a = rank[plain.CodeAt(c1, i)], b = rank[shaped.CodeAt(c2, i)];
                Assert.InRange(b - a, -shaped.ShapingPasses, shaped.ShapingPasses);
                if (a != b) moved++;
            }
            plain.Decode(c1, f1, decoded);
            for (int i = 0; i < dim; i++) errorPlain += Math.Pow(decoded[i] - x[i], 2);
            shaped.Decode(c2, f2, decoded);
            for (int i = 0; i < dim; i++) errorShaped += Math.Pow(decoded[i] - x[i], 2);
        }
        Assert.True(moved > rows, $"{bits} bits: only {moved} codes moved");
        Assert.True(gain > 0, $"{bits} bits: no mean gain");
        Assert.True(errorShaped < 0.95 * errorPlain, $"{bits} bits: decoded error {errorShaped:G4} shaped vs {errorPlain:G4} plain");
        Assert.Equal(0, EmbeddingQuantizer.Fit(SyntheticEmbeddings(50, 64, seed: 1), 50, 64, new EmbeddingQuantizerOptions { Bits = bits, Seed = 1 }).ShapingPasses);
    }

    /// <summary>The 3-bit codebook: levels ascend with the code and are additive in its bits (what the index's scan
    /// relies on), and its Gaussian error lies between the unconstrained Lloyd–Max quantiser's and the best uniform
    /// grid's (0.0345 and 0.0374).</summary>
    [Fact]
    public void ThreeBitCodebookIsAdditiveAndNearLloydMax()
    {
        var (t, c, cells) = QuantizationCodebook.For(3);
        Assert.Equal(8, c.Length);
        Assert.Equal(Enumerable.Range(0, 8), cells.Order());
        // The cells' levels ascend, and each threshold is the midpoint of its neighbours (nearest-level cells).
        var sorted = cells.Select(k => c[k]).ToArray();
        for (int k = 1; k < 8; k++)
        {
            Assert.True(sorted[k] > sorted[k - 1]);
            Assert.Equal(0.5 * (sorted[k - 1] + sorted[k]), t[k - 1], 1e-12);
        }
        for (int k = 0; k < 8; k++)
        {
            double additive = c[0];
            for (int j = 0; j < 3; j++) if ((k >> j & 1) != 0) additive += c[1 << j] - c[0];
            Assert.Equal(c[k], additive, 1e-12);
        }
        // The other widths map cells to codes one to one.
        foreach (int bits in new[] { 1, 2, 4, 8 }) Assert.Equal(Enumerable.Range(0, 1 << bits), QuantizationCodebook.For(bits).CellCodes);
        double error = QuantizationCodebook.GaussianError(t, sorted);
        var (tl, cl) = QuantizationCodebook.UnconstrainedLloydMax(3);
        double lloyd = QuantizationCodebook.GaussianError(tl, cl);
        Assert.InRange(lloyd, 0.0344, 0.0346);
        Assert.InRange(error, lloyd, 1.03 * lloyd);
        Assert.True(error < 0.0370, $"3-bit additive codebook error {error:G4} is no better than a uniform grid's");
    }

    [Fact]
    public void BadInputNamesTheOptionOrColumn()
    {
        var data = SyntheticEmbeddings(20, 16, seed: 1);
        foreach (int bits in new[] { 0, 5, 6, 7, 9, -1 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Fit(data, 20, 16, bits));
            Assert.Contains("Bits", e.Message);
            Assert.Contains(bits.ToString(), e.Message);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingQuantizerOptions { Blocks = 4 }.Validate());
        var q = Fit(data, 20, 16, 4);
        Assert.Throws<ArgumentException>(() => q.Encode(new float[15], new byte[q.CodeBytes], out _, out _));
        Assert.Throws<ArgumentException>(() => q.Encode(new float[16], new byte[q.CodeBytes + 1], out _, out _));
        var nan = new float[16];
        nan[3] = float.NaN;
        Assert.Throws<InvalidOperationException>(() => q.Encode(nan, new byte[q.CodeBytes], out _, out _));
        var huge = new float[16];
        huge[2] = 1e6f;
        var range = Assert.Throws<InvalidOperationException>(() => q.Encode(huge, new byte[q.CodeBytes], out _, out _));
        Assert.Contains("slot 2", range.Message);
        var row = new float[q.CodeRowSize];
        row[1] = 2.5f;
        var notByte = Assert.Throws<InvalidOperationException>(() => q.DecodeRow(row, new float[16]));
        Assert.Contains("code slot 1", notByte.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingQuantizer.Fit(data, 0, 16, new EmbeddingQuantizerOptions { Seed = 1 }));
        Assert.Throws<ArgumentException>(() => EmbeddingQuantizer.Fit(data, 21, 16, new EmbeddingQuantizerOptions { Seed = 1 }));
        var tiny = Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingQuantizer.Fit(new float[4], 1, 4, new EmbeddingQuantizerOptions { Bits = 1, Seed = 1 }));
        Assert.Contains("dimension", tiny.Message);
    }

    [Fact]
    public void TheMeanVectorEncodesToZeroFactor()
    {
        var data = SyntheticEmbeddings(30, 32, seed: 8);
        var q = Fit(data, 30, 32, 2);
        var code = new byte[q.CodeBytes];
        q.Encode(q.Mean, code, out float f, out float g);
        Assert.Equal(0f, f);
        Assert.Equal(0f, g);
        var decoded = new float[32];
        q.Decode(code, f, decoded);
        Assert.Equal(q.Mean.ToArray(), decoded);
    }

    public sealed class Row32 { [VectorType(32)] public float[] E { get; set; } = []; }

    [Fact]
    public void PipelineEncodesLikeTheSpanApiAndDecodesAfterSaveAndLoad()
    {
        var ml = new MLContext(1);
        var data = SyntheticEmbeddings(200, 32, seed: 9);
        var rows = Enumerable.Range(0, 200).Select(r => new Row32 { E = Row(data, 32, r).ToArray() }).ToList();
        var view = ml.Data.LoadFromEnumerable(rows);
        var quantizer = ml.Transforms.QuantizeEmbeddings("Codes", "E", new EmbeddingQuantizerOptions { Bits = 2, Seed = 11 }).Fit(view);
        Assert.Equal(11, quantizer.Quantizer.Seed);
        var decoder = ml.Transforms.DecodeEmbeddings(quantizer, "Decoded");
        var chain = new TransformerChain<ITransformer>(quantizer, decoder);
        var output = chain.Transform(view);
        var codes = Onnx.OnnxTestData.Column(output, "Codes");
        var decoded = Onnx.OnnxTestData.Column(output, "Decoded");
        var expected = new float[quantizer.Quantizer.CodeRowSize];
        var expectedDecoded = new float[32];
        for (int r = 0; r < rows.Count; r++)
        {
            quantizer.Quantizer.EncodeRow(rows[r].E, expected);
            Assert.Equal(expected, codes[r]);
            quantizer.Quantizer.DecodeRow(expected, expectedDecoded);
            Assert.Equal(expectedDecoded, decoded[r]);
        }
        var dir = Onnx.OnnxTestData.TempDir();
        try
        {
            var zip = Path.Combine(dir, "q.zip");
            ml.Model.Save(chain, view.Schema, zip);
            var loaded = ml.Model.Load(zip, out _).Transform(view);
            var codes2 = Onnx.OnnxTestData.Column(loaded, "Codes");
            var decoded2 = Onnx.OnnxTestData.Column(loaded, "Decoded");
            for (int r = 0; r < rows.Count; r++)
            {
                for (int i = 0; i < quantizer.Quantizer.CodeBytes; i++) Assert.Equal(codes[r][i], codes2[r][i]);
                Assert.True(Onnx.OnnxTestData.MaxAbsDiff([decoded[r]], [decoded2[r]]) < 1e-5f);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void SameSeedGivesTheSameCodesAndANullSeedFollowsTheContext()
    {
        var data = SyntheticEmbeddings(40, 24, seed: 10);
        var a = Fit(data, 40, 24, 4, seed: 3);
        var b = Fit(data, 40, 24, 4, seed: 3);
        var c = Fit(data, 40, 24, 4, seed: 4);
        var ca = new byte[a.CodeBytes];
        var cb = new byte[a.CodeBytes];
        var cc = new byte[a.CodeBytes];
        a.Encode(Row(data, 24, 0), ca, out _, out _);
        b.Encode(Row(data, 24, 0), cb, out _, out _);
        c.Encode(Row(data, 24, 0), cc, out _, out _);
        Assert.Equal(ca, cb);
        Assert.NotEqual(ca, cc);
        var e1 = new MLContext(7).Transforms.QuantizeEmbeddings("C", "E");
        var e2 = new MLContext(7).Transforms.QuantizeEmbeddings("C", "E");
        Assert.Equal(e1.Seed, e2.Seed);
    }
}
