using MLTransforms.Core.Pipeline;

namespace MLTransforms.Quantization;

/// <summary>Settings of <see cref="EmbeddingQuantizerEstimator"/> and <see cref="EmbeddingQuantizer.Fit"/>.</summary>
public sealed class EmbeddingQuantizerOptions
{
    /// <summary>Bits per rotated coordinate: 1 (RaBitQ sign codes), 2 or 4 (Gaussian Lloyd–Max), 3 (Gaussian
    /// Lloyd–Max with additive levels) or 8 (uniform, scanned with integer dot products). Default 4. 5, 6 and 7 are not
    /// supported: 8 bits costs little more and scans faster.</summary>
    public int Bits { get; set; } = 4;

    /// <summary>Subtract the sample mean before rotating (default true). Sentence embeddings share a large common
    /// direction (norm 0.4-0.8 of unit vectors); removing it is what lets one global codebook fit every vector.</summary>
    public bool Center { get; set; } = true;

    /// <summary>Number of H D blocks of the structured rotation, 1..3 (default 2).</summary>
    public int Blocks { get; set; } = 2;

    /// <summary>Seed of the rotation's sign diagonals; null draws one from the <c>MLContext</c> (or, outside a
    /// pipeline, from fresh randomness). An explicit seed always wins.</summary>
    public int? Seed { get; set; }

    /// <summary>Passes of error shaping into the padding (default 4; 0 turns it off). A d-dimensional vector padded to p
    /// lies, once rotated, in a d-dimensional subspace, and so does every query; the encoder moves codes to a
    /// neighbouring cell when that moves quantization error out of that subspace, into the p - d padded directions
    /// that no score sees. On SciFact (384 padded to 512) it raises Recall@10 by 1.3 to 5.9 points at 1 to 4 bits
    /// (3 seeds, both models); 4 passes reach most of the gain of 8. It makes encoding about 40 µs per vector slower
    /// and keeps the p x p projection (2 MB at p = 512, 8 MB at 1,024) in the quantizer and in its ONNX graph. It
    /// applies when d is not a power of two and p is at most 2,048.</summary>
    public int ShapingPasses { get; set; } = 4;

    /// <summary>The largest <see cref="ShapingPasses"/>.</summary>
    public const int MaxShapingPasses = 64;

    /// <summary>Most rows read to fit the mean and the input range (default 100,000).</summary>
    public long MaxSampleRows { get; set; } = 100_000;

    /// <summary>A copy of these settings.</summary>
    public EmbeddingQuantizerOptions Clone() => (EmbeddingQuantizerOptions)MemberwiseClone();

    /// <summary>Checks every setting; the message names the option, the expected and the actual value.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public void Validate()
    {
        SchemaChecks.CheckOption(QuantizationCodebook.IsSupported(Bits), nameof(Bits), Bits, QuantizationCodebook.SupportedText);
        SchemaChecks.CheckOption(Blocks is >= Rotations.StructuredRotation.MinBlocks and <= Rotations.StructuredRotation.MaxBlocks, nameof(Blocks), Blocks,
            $"in {Rotations.StructuredRotation.MinBlocks}..{Rotations.StructuredRotation.MaxBlocks}");
        SchemaChecks.CheckOption(MaxSampleRows >= 1, nameof(MaxSampleRows), MaxSampleRows, ">= 1");
        SchemaChecks.CheckOption(ShapingPasses is >= 0 and <= MaxShapingPasses, nameof(ShapingPasses), ShapingPasses, $"in 0..{MaxShapingPasses}");
    }
}
