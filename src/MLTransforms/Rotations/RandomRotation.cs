using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;
using MLTransforms.Core.Onnx;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Rotations;

/// <summary>
/// Estimator of <see cref="RandomRotationTransformer"/>: rotates a known-size Single vector column by a seeded
/// structured random rotation (<see cref="StructuredRotation"/>). Fitting reads only the column's size.
/// </summary>
public sealed class RandomRotationEstimator : VectorEstimator<RandomRotationTransformer>
{
    /// <summary>Creates the estimator; prefer <see cref="RotationsCatalog.RandomRotation"/>.</summary>
    /// <param name="env">The ML.NET environment (e.g. the <see cref="MLContext"/>); a null seed is drawn from it.</param>
    /// <param name="outputColumnName">Name of the rotated column.</param>
    /// <param name="inputColumnName">Name of the input column; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="blocks">Number of H D blocks, 1..3.</param>
    /// <param name="seed">Seed of the signs; null draws one from the estimator's host, i.e. from the seed of the
    /// <see cref="MLContext"/> (as ML.NET's own components do): reproducible under <c>new MLContext(seed: n)</c>,
    /// fresh under <c>new MLContext()</c>. An explicit seed always wins.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blocks"/> is outside 1..3.</exception>
    public RandomRotationEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName = null, int blocks = 2, int? seed = null)
        : base(env, outputColumnName, inputColumnName)
    {
        SchemaChecks.CheckOption(blocks is >= StructuredRotation.MinBlocks and <= StructuredRotation.MaxBlocks, nameof(blocks), blocks, "in 1..3");
        Blocks = blocks;
        Seed = seed ?? Host.Rand.Next();
    }

    /// <summary>Number of H D blocks.</summary>
    public int Blocks { get; }

    /// <summary>Seed of the signs: the one given, or the one drawn from the context when the estimator was created.</summary>
    public int Seed { get; }

    /// <inheritdoc/>
    public override RandomRotationTransformer Fit(IDataView input)
    {
        var rotation = new StructuredRotation(CheckInput(input), Blocks, Seed);
        using var ch = Host.Start("Fit");
        ch.Info($"Rotation of {rotation.Dimension} values (zero-padded to {rotation.PaddedDimension}), {Blocks} blocks, seed {Seed}");
        return new(OutputColumnName, InputColumnName, rotation);
    }
}

/// <summary>
/// Appends R [x; 0], a structured random rotation of the zero-padded input (size: the next power of two). Norms,
/// distances and inner products are preserved; the rotation spreads every input's energy evenly over the
/// coordinates (useful before quantisation, sketching or per-coordinate models).
/// </summary>
public sealed class RandomRotationTransformer : VectorTransformer
{
    internal RandomRotationTransformer(string outputColumnName, string inputColumnName, StructuredRotation rotation)
        : base(outputColumnName, inputColumnName, rotation.Dimension, rotation.PaddedDimension)
        => Rotation = rotation;

    /// <summary>The rotation applied to every row.</summary>
    public StructuredRotation Rotation { get; }

    /// <inheritdoc/>
    protected override void Map(ReadOnlySpan<float> input, Span<float> output, Span<float> scratch)
    {
        // The base class checks the output; the span API's own check would be a second pass.
        input.CopyTo(output);
        output[input.Length..].Clear();
        Rotation.ApplyInPlace(output, 1f);
    }

    /// <inheritdoc/>
    protected internal override string BuildOnnx(OnnxGraphBuilder graph, string input)
        => RotationOnnx.Emit(graph, input, [Rotation]);
}
