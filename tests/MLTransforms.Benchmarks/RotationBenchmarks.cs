using BenchmarkDotNet.Attributes;
using MathNet.Numerics.LinearAlgebra;
using MLTransforms.Rotations;

namespace MLTransforms.Benchmarks;

/// <summary>
/// One row through <see cref="StructuredRotation"/> (two H D blocks, O(d log d)) vs a dense random orthogonal
/// rotation (O(d^2)), single-threaded: MathNet's matrix-vector product, and, as a stronger dense baseline, one
/// vectorised <c>TensorPrimitives.Dot</c> per row of a row-major copy of the same matrix.
/// </summary>
public class RotationBenchmarks
{
    private Matrix<float> _dense = null!;
    private Vector<float> _x = null!, _y = null!;
    private StructuredRotation _rotation = null!;
    private float[] _input = null!, _output = null!, _rowMajor = null!;

    /// <summary>Vector size.</summary>
    [Params(1024, 4096)]
    public int D { get; set; }

    /// <summary>Draws both rotations and one input row.</summary>
    [GlobalSetup]
    public void Setup()
    {
        MathNet.Numerics.Control.UseSingleThread();
        _dense = RandomOrthogonal(D, seed: 1);
        _rowMajor = _dense.ToRowMajorArray();
        var rng = new Random(2);
        _input = Enumerable.Range(0, D).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        _output = new float[D];
        _x = Vector<float>.Build.DenseOfArray(_input);
        _y = Vector<float>.Build.Dense(D);
        _rotation = new StructuredRotation(D, blocks: 2, seed: 1);
    }

    /// <summary>
    /// A Haar-random orthogonal matrix from the QR decomposition of a Gaussian matrix. Above 2048 a dense QR takes
    /// minutes in managed code, so the matrix is the Kronecker product of two Haar factors: just as dense and
    /// orthogonal, and the matrix-vector product being timed costs the same.
    /// </summary>
    private static Matrix<float> RandomOrthogonal(int d, int seed)
    {
        if (d > 2048)
        {
            int a = (int)Math.Sqrt(d);
            return RandomOrthogonal(a, seed).KroneckerProduct(RandomOrthogonal(d / a, seed + 1));
        }
        var gaussian = Matrix<double>.Build.Random(d, d, new MathNet.Numerics.Distributions.Normal(new Random(seed)));
        return gaussian.QR().Q.Map(v => (float)v);
    }

    /// <summary>Dense rotation: y = Q x.</summary>
    [Benchmark(Baseline = true)]
    public float DenseOrthogonal()
    {
        _dense.Multiply(_x, _y);
        return _y[0];
    }

    /// <summary>Dense rotation with vectorised dot products: y_i = q_i . x.</summary>
    [Benchmark]
    public float DenseOrthogonalDot()
    {
        for (int i = 0; i < D; i++)
            _output[i] = System.Numerics.Tensors.TensorPrimitives.Dot(_rowMajor.AsSpan(i * D, D), _input);
        return _output[0];
    }

    /// <summary>Structured rotation: y = H D2 H D1 x.</summary>
    [Benchmark]
    public float Structured()
    {
        _rotation.Apply(_input, _output);
        return _output[0];
    }
}
