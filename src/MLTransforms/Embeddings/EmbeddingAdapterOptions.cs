using MLTransforms.Core.Pipeline;
namespace MLTransforms.Embeddings;

/// <summary>The family of map an embedding adapter fits. Every kind is affine: y = x W + b (then optionally L2-normalised).</summary>
public enum EmbeddingAdapterKind
{
    /// <summary>
    /// Orthogonal Procrustes on centred data: W = s U V^T from the SVD X_c^T Y_c = U S V^T, b = mean_y - mean_x W
    /// (Schönemann 1966). Keeps the geometry of the new model; the most robust kind when pairs are few.
    /// </summary>
    Procrustes,

    /// <summary>Affine least squares with a ridge penalty: W = (Σxx + λ I)^-1 Σxy; λ chosen on held-out folds when not given.</summary>
    Ridge,

    /// <summary>
    /// λ-orthogonality regularisation (arXiv 2509.16664): minimises (1/n)||X W + b - Y||² + ridge ||W||² + λ ||W^T W - I||²_F
    /// by L-BFGS on the Gram statistics (O(d³) per iteration, independent of the number of pairs). λ = 0 is
    /// <see cref="Ridge"/>; a large λ approaches an orthogonal map.
    /// </summary>
    LambdaOrthogonal,

    /// <summary>
    /// Low-rank affine (Drift-Adapter, arXiv 2509.23471): the Procrustes map (or the identity, see
    /// <see cref="EmbeddingAdapterOptions.LowRankFromIdentity"/>) plus a rank-r correction fitted by reduced-rank
    /// ridge regression on its residual.
    /// </summary>
    LowRank,

    /// <summary>
    /// Orthogonal with extra dimensions (the BT² / OCA idea, arXiv 2211.03989, 2408.08793): the output is
    /// [old-space part | extra part]; the first part is the Procrustes map (comparable with the old index, whose
    /// vectors are zero in the extra slots), the extra part holds the new model's leading principal directions not
    /// covered by the first part, so items re-embedded later keep new-model information.
    /// </summary>
    OrthogonalExtended,
}

/// <summary>How an orthogonal map is scaled about the target mean (isotropic scaling).</summary>
public enum AdapterScaling
{
    /// <summary>Pure rotation: the centred part keeps the input's spread.</summary>
    None,

    /// <summary>Least-squares scale s = trace(S) / trace(Σxx) of extended Procrustes: shrinks as the fit gets worse.</summary>
    LeastSquares,

    /// <summary>Norm matching: s = sqrt(trace(Σyy) / trace(Σxx)), so mapped vectors have the spread of real target vectors.</summary>
    MatchSpread,
}

/// <summary>Settings of <see cref="EmbeddingAdapterEstimator"/>; the defaults suit L2-normalised 384-d sentence embeddings.</summary>
public sealed class EmbeddingAdapterOptions
{
    /// <summary>The kind of map. Default <see cref="EmbeddingAdapterKind.Procrustes"/>.</summary>
    public EmbeddingAdapterKind Kind { get; set; } = EmbeddingAdapterKind.Procrustes;

    /// <summary>Centre both sides before an orthogonal fit (Procrustes-based kinds). Default true: essential for anisotropic models.</summary>
    public bool Center { get; set; } = true;

    /// <summary>Isotropic scaling of the orthogonal part (Procrustes-based kinds). Default <see cref="AdapterScaling.MatchSpread"/>.</summary>
    public AdapterScaling Scaling { get; set; } = AdapterScaling.MatchSpread;

    /// <summary>
    /// Ridge penalty λ ≥ 0 on the covariance scale (W = (Σxx + λ I)^-1 Σxy with Σ = co-moment / n), used by
    /// <see cref="EmbeddingAdapterKind.Ridge"/>, <see cref="EmbeddingAdapterKind.LambdaOrthogonal"/> and
    /// <see cref="EmbeddingAdapterKind.LowRank"/>. Null (default) chooses it by <see cref="Folds"/>-fold
    /// cross-validation of the squared error on held-out pairs.
    /// </summary>
    public double? Ridge { get; set; }

    /// <summary>Number of folds for choosing <see cref="Ridge"/>; pair i goes to fold i mod Folds. Default 5.</summary>
    public int Folds { get; set; } = 5;

    /// <summary>Orthogonality weight λ of <see cref="EmbeddingAdapterKind.LambdaOrthogonal"/> (per pair, on the covariance scale). Default 0.01.</summary>
    public double Lambda { get; set; } = 0.01;

    /// <summary>Rank r of the correction of <see cref="EmbeddingAdapterKind.LowRank"/>. Default 32.</summary>
    public int Rank { get; set; } = 32;

    /// <summary>
    /// Base map of <see cref="EmbeddingAdapterKind.LowRank"/>: false (default) the centred Procrustes map, true the
    /// identity, as in Drift-Adapter for a model whose space drifted (both sizes must then be equal).
    /// </summary>
    public bool LowRankFromIdentity { get; set; }

    /// <summary>Extra output dimensions of <see cref="EmbeddingAdapterKind.OrthogonalExtended"/>. Default 32.</summary>
    public int ExtraDimensions { get; set; } = 32;

    /// <summary>Iteration limit of the <see cref="EmbeddingAdapterKind.LambdaOrthogonal"/> optimiser. Default 300.</summary>
    public int MaxIterations { get; set; } = 300;

    /// <summary>Convergence: stop when the gradient's Frobenius norm falls below Tolerance * (1 + objective). Default 1e-4.</summary>
    public double Tolerance { get; set; } = 1e-4;

    /// <summary>L2-normalise every output vector (cosine-ready). Default false.</summary>
    public bool NormalizeOutput { get; set; }

    /// <summary>Maximum number of pairs the estimator reads. Default: all.</summary>
    public long MaxPairs { get; set; } = long.MaxValue;

    internal void Validate()
    {
        SchemaChecks.CheckOption(Enum.IsDefined(Kind), nameof(Kind), Kind, "a defined EmbeddingAdapterKind");
        SchemaChecks.CheckOption(Enum.IsDefined(Scaling), nameof(Scaling), Scaling, "a defined AdapterScaling");
        SchemaChecks.CheckOption(Ridge is null || (Ridge >= 0 && double.IsFinite(Ridge.Value)), nameof(Ridge), Ridge, "null or a finite value >= 0");
        SchemaChecks.CheckOption(Folds >= 2, nameof(Folds), Folds, ">= 2");
        SchemaChecks.CheckOption(Lambda >= 0 && double.IsFinite(Lambda), nameof(Lambda), Lambda, "a finite value >= 0");
        SchemaChecks.CheckOption(Rank >= 1, nameof(Rank), Rank, ">= 1");
        SchemaChecks.CheckOption(ExtraDimensions >= 0, nameof(ExtraDimensions), ExtraDimensions, ">= 0");
        SchemaChecks.CheckOption(MaxIterations >= 1, nameof(MaxIterations), MaxIterations, ">= 1");
        SchemaChecks.CheckOption(Tolerance > 0, nameof(Tolerance), Tolerance, "> 0");
        SchemaChecks.CheckOption(MaxPairs >= 1, nameof(MaxPairs), MaxPairs, ">= 1");
    }
}
