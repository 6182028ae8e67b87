using System.Numerics.Tensors;
using MLTransforms.Core.Numerics;
using MLTransforms.Core.Pipeline;

namespace MLTransforms.Embeddings;

/// <summary>
/// A fitted embedding adapter outside any pipeline: the affine map y = x W + b (W is InputSize x OutputSize,
/// row-major), plus σ(x W1 + c1) W2 for <see cref="EmbeddingAdapterKind.ResidualMlp"/>, optionally followed by L2
/// normalisation. Immutable and thread-safe; use it to map queries one at a time or to migrate a whole index in batches.
/// </summary>
public sealed class EmbeddingAdapterMap
{
    private readonly float[] _weights;
    private readonly float[] _bias;
    private readonly HiddenLayer? _hidden;

    /// <summary>The hidden layer of a residual MLP: W1 (InputSize x Size), c1 (Size), W2 (Size x OutputSize), all row-major.</summary>
    internal sealed record HiddenLayer(int Size, AdapterActivation Activation, float[] W1, float[] C1, float[] W2);

    internal EmbeddingAdapterMap(EmbeddingAdapterKind kind, int inputSize, int outputSize, float[] weights, float[] bias,
        bool normalizeOutput, EmbeddingAdapterDiagnostics diagnostics, HiddenLayer? hidden = null)
    {
        Kind = kind;
        InputSize = inputSize;
        OutputSize = outputSize;
        _weights = weights;
        _bias = bias;
        _hidden = hidden;
        NormalizeOutput = normalizeOutput;
        Diagnostics = diagnostics;
    }

    /// <summary>Width of the hidden layer: 0 for the affine kinds.</summary>
    public int HiddenSize => _hidden?.Size ?? 0;

    /// <summary>Activation of the hidden layer (meaningful when <see cref="HiddenSize"/> &gt; 0).</summary>
    public AdapterActivation Activation => _hidden?.Activation ?? AdapterActivation.Gelu;

    /// <summary>W1, InputSize x HiddenSize, row-major (empty for the affine kinds).</summary>
    public ReadOnlySpan<float> HiddenWeights => _hidden?.W1;

    /// <summary>c1, the hidden layer's bias (empty for the affine kinds).</summary>
    public ReadOnlySpan<float> HiddenBias => _hidden?.C1;

    /// <summary>W2, HiddenSize x OutputSize, row-major: the hidden layer's contribution to the output (empty for the affine kinds).</summary>
    public ReadOnlySpan<float> HiddenOutputWeights => _hidden?.W2;

    internal HiddenLayer? Hidden => _hidden;

    /// <summary>The kind that produced this map.</summary>
    public EmbeddingAdapterKind Kind { get; }

    /// <summary>Length of the input (new-model) vectors.</summary>
    public int InputSize { get; }

    /// <summary>Length of the output vectors (the old size, plus extra dimensions for <see cref="EmbeddingAdapterKind.OrthogonalExtended"/>).</summary>
    public int OutputSize { get; }

    /// <summary>Whether outputs are L2-normalised.</summary>
    public bool NormalizeOutput { get; }

    /// <summary>The weights W, InputSize x OutputSize, row-major.</summary>
    public ReadOnlySpan<float> Weights => _weights;

    /// <summary>The bias b.</summary>
    public ReadOnlySpan<float> Bias => _bias;

    /// <summary>What the fit chose and how it converged.</summary>
    public EmbeddingAdapterDiagnostics Diagnostics { get; }

    /// <summary>Returns a copy whose outputs are multiplied by <paramref name="factor"/> (a calibration, e.g. norm matching).</summary>
    public EmbeddingAdapterMap Scaled(float factor)
    {
        SchemaChecks.CheckOption(float.IsFinite(factor) && factor > 0, nameof(factor), factor, "a finite value > 0");
        var w = (float[])_weights.Clone();
        var b = (float[])_bias.Clone();
        TensorPrimitives.Multiply(w, factor, w);
        TensorPrimitives.Multiply(b, factor, b);
        HiddenLayer? hidden = null;
        if (_hidden is not null)
        {
            var w2 = (float[])_hidden.W2.Clone();
            TensorPrimitives.Multiply(w2, factor, w2);
            hidden = _hidden with { W2 = w2 };
        }
        return new EmbeddingAdapterMap(Kind, InputSize, OutputSize, w, b, NormalizeOutput, Diagnostics, hidden);
    }

    /// <summary>Maps one vector.</summary>
    public float[] Apply(ReadOnlySpan<float> input)
    {
        var output = new float[OutputSize];
        Apply(input, output, 1);
        return output;
    }

    /// <summary>
    /// Maps <paramref name="rows"/> row-major input vectors into <paramref name="output"/> (rows x OutputSize): a
    /// register-blocked matrix product (4 rows x 32 columns per tile, 512-bit SIMD where available).
    /// </summary>
    /// <exception cref="ArgumentException">The spans' lengths do not match <paramref name="rows"/>.</exception>
    /// <exception cref="InvalidOperationException">An input value is NaN or infinite (names the row and the slot), as in a pipeline.</exception>
    public void Apply(ReadOnlySpan<float> input, Span<float> output, int rows)
    {
        if (rows < 0 || input.Length != (long)rows * InputSize)
            throw new ArgumentException($"Input holds {input.Length} values; expected {rows} x {InputSize}.", nameof(input));
        if (output.Length != (long)rows * OutputSize)
            throw new ArgumentException($"Output holds {output.Length} values; expected {rows} x {OutputSize}.", nameof(output));
        SchemaChecks.CheckFiniteRows(input, InputSize, nameof(input));
        ApplyUnchecked(input, output, rows);
    }

    /// <summary><see cref="Apply(ReadOnlySpan{float}, Span{float}, int)"/> for input already checked (the pipeline checks each row).</summary>
    internal void ApplyUnchecked(ReadOnlySpan<float> input, Span<float> output, int rows)
    {
        // Large batches split by rows over the cores: each chunk is an independent matrix product.
        int chunks = Math.Min(Environment.ProcessorCount, rows / MinRowsPerThread);
        if (chunks > 1)
            ApplyParallel(input, output, rows, chunks);
        else
            ApplyRows(input, output, rows);
    }

    private const int MinRowsPerThread = 64;

    private void ApplyRows(ReadOnlySpan<float> input, Span<float> output, int rows)
    {
        Gemm.MultiplyAddBias(input, _weights, _bias, output, rows, InputSize, OutputSize);
        if (_hidden is { } h)
        {
            // Pooled: a batch's hidden activations are rows x Size floats, too big for the stack and needed only here.
            var rented = System.Buffers.ArrayPool<float>.Shared.Rent(rows * h.Size);
            try
            {
                var z = rented.AsSpan(0, rows * h.Size);
                Gemm.MultiplyAddBias(input, h.W1, h.C1, z, rows, InputSize, h.Size);
                ResidualMlp.Activate(h.Activation, z, z);
                Gemm.Multiply(false, false, rows, OutputSize, h.Size, 1, z, h.W2, 1, output);
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(rented);
            }
        }
        if (NormalizeOutput)
            for (int r = 0; r < rows; r++)
            {
                var y = output.Slice(r * OutputSize, OutputSize);
                float norm = TensorPrimitives.Norm(y);
                if (norm > 0) TensorPrimitives.Divide(y, norm, y);
            }
    }

    private unsafe void ApplyParallel(ReadOnlySpan<float> input, Span<float> output, int rows, int chunks)
    {
        int per = (rows + chunks - 1) / chunks;
        fixed (float* pin = input)
        fixed (float* pout = output)
        {
            nint inAddress = (nint)pin, outAddress = (nint)pout;
            Parallel.For(0, chunks, c =>
            {
                int r0 = c * per, n = Math.Min(per, rows - r0);
                if (n <= 0) return;
                ApplyRows(new ReadOnlySpan<float>((float*)inAddress + (long)r0 * InputSize, n * InputSize),
                    new Span<float>((float*)outAddress + (long)r0 * OutputSize, n * OutputSize), n);
            });
        }
    }
}

/// <summary>What an adapter fit chose and how it went.</summary>
/// <param name="Pairs">Number of pairs fitted.</param>
/// <param name="Ridge">The ridge penalty used (chosen or given), or NaN when the kind has none.</param>
/// <param name="Scale">The isotropic scale of the orthogonal part, or NaN.</param>
/// <param name="Iterations">Optimiser iterations (λ-orthogonality), else 0.</param>
/// <param name="Converged">Whether the optimiser met its tolerance (true for closed forms).</param>
/// <param name="OrthogonalityError">||W^T W - I||_F / sqrt(OutputSize) of the old-space part of W (scale removed).</param>
/// <param name="TrainError">Mean squared error per pair on the fitted pairs (old-space part; for
/// <see cref="EmbeddingAdapterKind.ResidualMlp"/>, of its linear start).</param>
/// <remarks>For <see cref="EmbeddingAdapterKind.ResidualMlp"/>, <see cref="Iterations"/> counts the epochs trained and
/// <see cref="Converged"/> says whether early stopping ended training before <see cref="EmbeddingAdapterOptions.MaxEpochs"/>.</remarks>
public sealed record EmbeddingAdapterDiagnostics(long Pairs, double Ridge, double Scale, int Iterations, bool Converged,
    double OrthogonalityError, double TrainError)
{
    /// <summary>The seed the residual MLP trained with, or null for the other kinds.</summary>
    public int? Seed { get; init; }

    /// <summary>Residual MLP: the epoch whose weights were kept (best held-out loss), else 0.</summary>
    public int BestEpoch { get; init; }

    /// <summary>Residual MLP: mean cosine between mapped and old vectors on the held-out pairs, at the kept epoch; else NaN.</summary>
    public double ValidationCosine { get; init; } = double.NaN;

    /// <summary>Residual MLP: the same for its linear start (before training); else NaN.</summary>
    public double LinearValidationCosine { get; init; } = double.NaN;

    /// <summary>Residual MLP: the linear kind its A and b started from (<see cref="EmbeddingAdapterKind.Procrustes"/> or
    /// <see cref="EmbeddingAdapterKind.Ridge"/>); else the map's own kind.</summary>
    public EmbeddingAdapterKind LinearStart { get; init; }
}
