using Microsoft.ML;
using MLTransforms.Core.Pipeline;
using MLTransforms.Rotations;

namespace MLTransforms;

/// <summary>Structured random rotations on ML.NET's <see cref="TransformsCatalog"/>: rotation, SRHT projection, SORF kernel features.</summary>
public static class RotationsCatalog
{
    /// <summary>
    /// Rotates a known-size Single vector column by a seeded structured random rotation R = H D_b ... H D_1
    /// (<see cref="StructuredRotation"/>); the output has the input's size rounded up to a power of two.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Name of the rotated column.</param>
    /// <param name="inputColumnName">Name of the input column; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="blocks">Number of H D blocks, 1..3 (2 is close to a uniform rotation, arXiv:2604.23418).</param>
    /// <param name="seed">Seed of the signs; null draws one from the <see cref="MLContext"/>'s seed (as ML.NET's own
    /// components do): reproducible under <c>new MLContext(seed: n)</c>. An explicit seed always wins.</param>
    /// <example><code>var pipeline = ml.Transforms.RandomRotation("Rotated", "Features", blocks: 2, seed: 1);</code></example>
    public static RandomRotationEstimator RandomRotation(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, int blocks = 2, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new RandomRotationEstimator(CatalogEnvironment.Of(catalog), outputColumnName, inputColumnName, blocks, seed);
    }

    /// <summary>
    /// Johnson-Lindenstrauss dimension reduction by a subsampled randomized Hadamard transform,
    /// y = sqrt(p / k) S H D [x; 0] (<see cref="StructuredRandomProjectionTransformer"/>).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Name of the projected column.</param>
    /// <param name="inputColumnName">Name of the input column; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="outputDimension">Output size k; 0 means 'auto': scikit-learn's
    /// <c>johnson_lindenstrauss_min_dim(n_samples, eps)</c> for the number of training rows.</param>
    /// <param name="eps">Distortion for 'auto' sizing, in (0, 1).</param>
    /// <param name="blocks">Number of H D blocks before sub-sampling, 1..3.</param>
    /// <param name="seed">Seed of the signs and the row choice; null draws one from the <see cref="MLContext"/>'s seed.
    /// An explicit seed always wins.</param>
    /// <example><code>var pipeline = ml.Transforms.StructuredRandomProjection("Sketch", "Embedding", eps: 0.2);</code></example>
    public static StructuredRandomProjectionEstimator StructuredRandomProjection(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, int outputDimension = 0, double eps = 0.1, int blocks = 1, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new StructuredRandomProjectionEstimator(CatalogEnvironment.Of(catalog), outputColumnName, inputColumnName, outputDimension, eps, blocks, seed);
    }

    /// <summary>
    /// Structured orthogonal random features (SORF, arXiv:1610.09072) for the Gaussian kernel, with the meaning of
    /// <paramref name="rank"/>, <paramref name="gamma"/> and <paramref name="useCosAndSinBases"/> of ML.NET's
    /// <c>ApproximatedKernelMap</c> with <c>GaussianKernel(gamma)</c>: the kernel is exp(-gamma ||x - y||^2 / m), m
    /// the median squared pairwise distance of the training rows (see <see cref="OrthogonalRandomFeaturesOptions"/>
    /// for the literal kernel).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Name of the feature column.</param>
    /// <param name="inputColumnName">Name of the input column; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="rank">Number of random frequencies.</param>
    /// <param name="gamma">Kernel width, positive.</param>
    /// <param name="useCosAndSinBases">Output cos and sin pairs (2 * rank values) instead of cos(w x + b).</param>
    /// <param name="blocks">Number of H D blocks per stacked rotation, 1..3.</param>
    /// <param name="seed">Seed of the signs and the phases; null draws one from the <see cref="MLContext"/>'s seed.
    /// An explicit seed always wins.</param>
    /// <example><code>var pipeline = ml.Transforms.OrthogonalRandomFeatures("Kernel", "Features", rank: 2048)
    ///     .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(featureColumnName: "Kernel"));</code></example>
    public static OrthogonalRandomFeaturesEstimator OrthogonalRandomFeatures(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, int rank = 1000, float gamma = 1, bool useCosAndSinBases = false, int blocks = 3, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new OrthogonalRandomFeaturesEstimator(CatalogEnvironment.Of(catalog), new OrthogonalRandomFeaturesOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            Rank = rank,
            Gamma = gamma,
            UseCosAndSinBases = useCosAndSinBases,
            Blocks = blocks,
            Seed = seed,
        });
    }

    /// <summary>Structured orthogonal random features with every setting, including the literal kernel
    /// (<see cref="OrthogonalRandomFeaturesOptions.ScaleGammaByDistance"/> = false).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">The settings.</param>
    public static OrthogonalRandomFeaturesEstimator OrthogonalRandomFeatures(this TransformsCatalog catalog, OrthogonalRandomFeaturesOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new OrthogonalRandomFeaturesEstimator(CatalogEnvironment.Of(catalog), options);
    }
}
