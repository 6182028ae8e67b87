using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLTransforms.Core.Numerics;
using MLTransforms.Core.Pipeline;
namespace MLTransforms.Rotations;

/// <summary>
/// A seeded structured random rotation R = H D_b ... H D_1 of R^p, where H is the orthonormal Walsh-Hadamard matrix
/// (entries +-1/sqrt(p)) and each D_i is a diagonal of independent Rademacher signs.
/// </summary>
/// <remarks>
/// <para>Inputs of size d are zero-padded to p = the next power of two, so <see cref="Apply"/> maps R^d into R^p and
/// preserves norms and inner products exactly (up to float rounding); <see cref="ApplyInverse"/> is the transpose
/// R^T = D_1 H ... D_b H. One application costs b fast Walsh-Hadamard transforms, O(b p log p), instead of the O(p^2)
/// of a dense rotation.</para>
/// <para>Two blocks (the default) already make a coordinate of R x nearly distributed like a coordinate of a
/// uniformly random rotation (Kolmogorov-Smirnov distance decaying like p^(-1/2)); one block is not enough for
/// sparse inputs (see <see cref="RotationDiagnostics"/>). Reference: "Approximating Uniform Random Rotations by
/// Two-Block Structured Hadamard Rotations in High Dimensions", arXiv:2604.23418.</para>
/// <para>The signs come from SplitMix64 seeded with <see cref="Seed"/>, so a seed gives the same rotation on every
/// machine and .NET version. Instances are immutable and thread-safe.</para>
/// </remarks>
public sealed class StructuredRotation
{
    /// <summary>Fewest sign blocks.</summary>
    public const int MinBlocks = 1;

    /// <summary>Most sign blocks (three already match a uniform rotation to sampling precision).</summary>
    public const int MaxBlocks = 3;

    private readonly float[][] _signs;
    private readonly float _scale;

    /// <summary>Draws a rotation.</summary>
    /// <param name="dimension">Input size d (1 .. 2^24); vectors are zero-padded to <see cref="PaddedDimension"/>.</param>
    /// <param name="blocks">Number b of H D blocks, 1..3.</param>
    /// <param name="seed">Seed of the sign diagonals; null draws one from a host registered with <paramref name="env"/>
    /// (reproducible under <c>new MLContext(seed: n)</c>), or, without an environment, from a fresh unseeded
    /// <see cref="MLContext"/>. An explicit seed always wins; <see cref="Seed"/> reports the one used.</param>
    /// <param name="env">The ML.NET environment a null <paramref name="seed"/> is drawn from; null: fresh randomness.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> or <paramref name="blocks"/> is out of range.</exception>
    public StructuredRotation(int dimension, int blocks = 2, int? seed = null, IHostEnvironment? env = null)
        : this(dimension, blocks, seed ?? (env ?? new MLContext()).Register(nameof(StructuredRotation)).Rand.Next(), stream: 0)
    {
    }

    /// <summary>Draws the rotation of stream <paramref name="stream"/> of <paramref name="seed"/> (independent streams for stacked rotations).</summary>
    internal StructuredRotation(int dimension, int blocks, int seed, ulong stream)
    {
        SchemaChecks.CheckOption(dimension > 0 && dimension <= 1 << WalshHadamard.MaxLog2Length, nameof(dimension), dimension, $"in 1..{1 << WalshHadamard.MaxLog2Length}");
        SchemaChecks.CheckOption(blocks is >= MinBlocks and <= MaxBlocks, nameof(blocks), blocks, $"in {MinBlocks}..{MaxBlocks}");
        Dimension = dimension;
        PaddedDimension = WalshHadamard.PaddedLength(dimension);
        Blocks = blocks;
        Seed = seed;
        _scale = 1f / MathF.Sqrt(PaddedDimension);
        var rng = SplitMix64.For(seed, stream);
        _signs = new float[blocks][];
        for (int i = 0; i < blocks; i++)
        {
            _signs[i] = new float[PaddedDimension];
            rng.FillSigns(_signs[i]);
        }
    }

    /// <summary>Input size d.</summary>
    public int Dimension { get; }

    /// <summary>p, the next power of two at least <see cref="Dimension"/>: the size of the rotated vectors.</summary>
    public int PaddedDimension { get; }

    /// <summary>Number b of H D blocks.</summary>
    public int Blocks { get; }

    /// <summary>The seed the signs were drawn from.</summary>
    public int Seed { get; }

    /// <summary>The diagonal of D_(<paramref name="block"/> + 1): <see cref="PaddedDimension"/> values, each +1 or -1
    /// (block 0 is applied first). Exposed for exporting the rotation, e.g. to ONNX.</summary>
    /// <param name="block">0 .. <see cref="Blocks"/> - 1.</param>
    public ReadOnlySpan<float> Signs(int block)
    {
        SchemaChecks.CheckOption(block >= 0 && block < Blocks, nameof(block), block, $"in 0..{Blocks - 1}");
        return _signs[block];
    }

    /// <summary>y = R [x; 0].</summary>
    /// <param name="x">Input, <see cref="Dimension"/> values.</param>
    /// <param name="y">Output, <see cref="PaddedDimension"/> values (may not overlap <paramref name="x"/>).</param>
    public void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        CheckLength(x.Length, Dimension, nameof(x));
        CheckLength(y.Length, PaddedDimension, nameof(y));
        x.CopyTo(y);
        y[x.Length..].Clear();
        ApplyInPlace(y, 1f);
        CheckOutput(y, x, nameof(Apply));
    }

    /// <summary>x = the first <see cref="Dimension"/> coordinates of R^T y; for y = R [x; 0] this recovers x exactly
    /// (up to float rounding), the dropped padding coordinates being zero.</summary>
    /// <param name="y">Rotated vector, <see cref="PaddedDimension"/> values.</param>
    /// <param name="x">Output, <see cref="Dimension"/> or <see cref="PaddedDimension"/> values.</param>
    public void ApplyInverse(ReadOnlySpan<float> y, Span<float> x)
    {
        CheckLength(y.Length, PaddedDimension, nameof(y));
        if (x.Length == PaddedDimension)
        {
            y.CopyTo(x);
            InverseInPlace(x);
            CheckOutput(x, y, nameof(ApplyInverse));
            return;
        }
        CheckLength(x.Length, Dimension, nameof(x));
        var buffer = new float[PaddedDimension];
        y.CopyTo(buffer);
        InverseInPlace(buffer);
        CheckOutput(buffer, y, nameof(ApplyInverse));
        buffer.AsSpan(0, Dimension).CopyTo(x);
    }

    /// <summary>v &lt;- R v for a vector of <see cref="PaddedDimension"/> values.</summary>
    /// <exception cref="InvalidOperationException">The result is not finite: <paramref name="v"/> held NaN, infinity or values too large for the Single range.</exception>
    public void ApplyInPlace(Span<float> v)
    {
        ApplyInPlace(v, 1f);
        CheckOutput(v, ReadOnlySpan<float>.Empty, nameof(ApplyInPlace));
    }

    /// <summary>v &lt;- R^T v for a vector of <see cref="PaddedDimension"/> values.</summary>
    /// <exception cref="InvalidOperationException">The result is not finite: <paramref name="v"/> held NaN, infinity or values too large for the Single range.</exception>
    public void ApplyInverseInPlace(Span<float> v)
    {
        InverseInPlace(v);
        CheckOutput(v, ReadOnlySpan<float>.Empty, nameof(ApplyInverseInPlace));
    }

    private void InverseInPlace(Span<float> v)
    {
        CheckLength(v.Length, PaddedDimension, nameof(v));
        // D_1 H D_2 H ... D_b H = D_1 (H D_2) ... (H D_b) H: one plain transform, then fused sign-transforms.
        WalshHadamard.Transform(v, normalize: true);
        for (int i = Blocks - 1; i >= 1; i--)
            WalshHadamard.Transform(v, _signs[i], _scale);
        System.Numerics.Tensors.TensorPrimitives.Multiply(v, _signs[0], v);
    }

    /// <summary>v &lt;- outputScale * R v, the scale folded into the last transform.</summary>
    internal void ApplyInPlace(Span<float> v, float outputScale)
    {
        CheckLength(v.Length, PaddedDimension, nameof(v));
        for (int i = 0; i < Blocks; i++)
            WalshHadamard.Transform(v, _signs[i], i == Blocks - 1 ? _scale * outputScale : _scale);
    }

    /// <summary>The span API has no pipeline around it to check rows, so it checks its result (one vectorised pass):
    /// NaN in, or finite values whose sums pass float.MaxValue, would otherwise come out as NaN silently.</summary>
    private static void CheckOutput(ReadOnlySpan<float> result, ReadOnlySpan<float> input, string method)
    {
        if (System.Numerics.Tensors.TensorPrimitives.IsFiniteAll(result))
            return;
        if (input.IsEmpty)
            throw new InvalidOperationException(
                $"StructuredRotation.{method} produced NaN or infinity from {result.Length} values: the input held NaN or infinity, or values so large that the sums exceed the Single range (about 3.4E+38). Expected finite input small enough for a finite result; scale it down.");
        SchemaChecks.CheckFinite(input, "input", 0);
        SchemaChecks.CheckFiniteOutput(result, input, method, 0);
    }

    private static void CheckLength(int actual, int expected, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"'{name}' has {actual} values; expected {expected}.", name);
    }
}
