using MLTransforms.Core.Pipeline;
namespace MLTransforms.Embeddings;

/// <summary>The family of map an embedding adapter fits: y = x W + b (then optionally L2-normalised), plus a hidden
/// layer for <see cref="ResidualMlp"/>.</summary>
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

    /// <summary>
    /// Residual MLP: y = x A + b + σ(x W1 + c1) W2, trained by Adam on the pairs themselves (not their statistics).
    /// A and b start from the better of the Procrustes and ridge fits on a held-out split, W2 from zero, so training
    /// starts at the best linear map and learns the nonlinear correction; early stopping on the held-out pairs.
    /// </summary>
    ResidualMlp,
}

/// <summary>The activation σ of the hidden layer of <see cref="EmbeddingAdapterKind.ResidualMlp"/>.</summary>
public enum AdapterActivation
{
    /// <summary>GELU, exact form: z Φ(z) = 0.5 z (1 + erf(z / √2)) (ONNX Gelu), the same kernel as OLinear's.</summary>
    Gelu,

    /// <summary>max(z, 0).</summary>
    Relu,
}

/// <summary>The per-pair loss of <see cref="EmbeddingAdapterKind.ResidualMlp"/> against the old-model target.</summary>
public enum AdapterLoss
{
    /// <summary>Squared error ||y_hat - y||².</summary>
    Mse,

    /// <summary>1 - cos(y_hat, y): only directions matter, as in cosine search.</summary>
    Cosine,
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

    /// <summary>Hidden width of <see cref="EmbeddingAdapterKind.ResidualMlp"/>. Default 256.</summary>
    public int HiddenSize { get; set; } = 256;

    /// <summary>Activation of <see cref="EmbeddingAdapterKind.ResidualMlp"/>. Default <see cref="AdapterActivation.Gelu"/>.</summary>
    public AdapterActivation Activation { get; set; } = AdapterActivation.Gelu;

    /// <summary>Loss of <see cref="EmbeddingAdapterKind.ResidualMlp"/> to the old target (also its early-stopping
    /// criterion on the held-out pairs). Default <see cref="AdapterLoss.Cosine"/>.</summary>
    public AdapterLoss Loss { get; set; } = AdapterLoss.Cosine;

    /// <summary>
    /// Weight of the in-batch InfoNCE term of <see cref="EmbeddingAdapterKind.ResidualMlp"/>: each mapped vector is
    /// contrasted with the other targets of its batch, -log softmax_j(cos(y_hat_i, y_j) / <see cref="Temperature"/>)[i].
    /// 0 turns it off. Default 0.
    /// </summary>
    public double ContrastiveWeight { get; set; }

    /// <summary>Temperature τ of the InfoNCE term. Default 0.05.</summary>
    public double Temperature { get; set; } = 0.05;

    /// <summary>
    /// Train the linear part A, b of <see cref="EmbeddingAdapterKind.ResidualMlp"/> along with the hidden layer. Default
    /// false: A and b stay at their (cross-validated) linear start, which unregularised training would overfit.
    /// </summary>
    public bool TrainLinear { get; set; }

    /// <summary>
    /// Adam learning rate of <see cref="EmbeddingAdapterKind.ResidualMlp"/>. Null (default): 2.5e-3 / <see cref="HiddenSize"/>
    /// (1e-5 at width 256). Adam moves every weight by about the learning rate per step, so an output entry, fed by
    /// HiddenSize weights, moves by about HiddenSize times it; 384-d unit vectors have entries near 0.05.
    /// </summary>
    public double? LearningRate { get; set; }

    /// <summary>The learning rate the fit uses: <see cref="LearningRate"/>, or its width-scaled default.</summary>
    internal double ResolvedLearningRate => LearningRate ?? 2.5e-3 / HiddenSize;

    /// <summary>Decoupled (AdamW) weight decay of the hidden layer's weights W1 and W2. Default 1e-4.</summary>
    public double WeightDecay { get; set; } = 1e-4;

    /// <summary>Pairs per Adam step (and InfoNCE batch) of <see cref="EmbeddingAdapterKind.ResidualMlp"/>. Default 128.</summary>
    public int BatchSize { get; set; } = 128;

    /// <summary>Maximum training epochs of <see cref="EmbeddingAdapterKind.ResidualMlp"/>. Default 30.</summary>
    public int MaxEpochs { get; set; } = 30;

    /// <summary>Stop after this many epochs without a better held-out loss (the best epoch's weights are kept). Default 4.</summary>
    public int Patience { get; set; } = 4;

    /// <summary>
    /// Share of the pairs <see cref="EmbeddingAdapterKind.ResidualMlp"/> holds out (a seeded random choice) to pick
    /// its linear start and its epoch; the rest train. Default 0.1.
    /// </summary>
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>
    /// Seed of <see cref="EmbeddingAdapterKind.ResidualMlp"/>'s held-out split, initialisation and shuffling (the other
    /// kinds are deterministic). Default <see langword="null"/>: drawn from the estimator's host when the estimator
    /// is created (<c>AdapterPairs.Fit</c> draws a fresh one). The same seed trains bit-identical weights.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>Cancels <see cref="EmbeddingAdapterKind.ResidualMlp"/> training between batches (so does ML.NET's cancellation of the context).</summary>
    public CancellationToken Cancellation { get; set; }

    /// <summary>A shallow copy (what a fit resolves its seed on, so the caller's instance is left alone).</summary>
    internal EmbeddingAdapterOptions Clone() => (EmbeddingAdapterOptions)MemberwiseClone();

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
        SchemaChecks.CheckOption(HiddenSize >= 1, nameof(HiddenSize), HiddenSize, ">= 1");
        SchemaChecks.CheckOption(Enum.IsDefined(Activation), nameof(Activation), Activation, "a defined AdapterActivation");
        SchemaChecks.CheckOption(Enum.IsDefined(Loss), nameof(Loss), Loss, "a defined AdapterLoss");
        SchemaChecks.CheckOption(ContrastiveWeight >= 0 && double.IsFinite(ContrastiveWeight), nameof(ContrastiveWeight), ContrastiveWeight, "a finite value >= 0");
        SchemaChecks.CheckOption(Temperature > 0 && double.IsFinite(Temperature), nameof(Temperature), Temperature, "a finite value > 0");
        SchemaChecks.CheckOption(LearningRate is null || (LearningRate > 0 && double.IsFinite(LearningRate.Value)), nameof(LearningRate), LearningRate, "null or a finite value > 0");
        SchemaChecks.CheckOption(WeightDecay >= 0 && ResolvedLearningRate * WeightDecay < 1, nameof(WeightDecay), WeightDecay, ">= 0 with LearningRate * WeightDecay < 1");
        SchemaChecks.CheckOption(BatchSize >= 2, nameof(BatchSize), BatchSize, ">= 2");
        SchemaChecks.CheckOption(MaxEpochs >= 1, nameof(MaxEpochs), MaxEpochs, ">= 1");
        SchemaChecks.CheckOption(Patience >= 1, nameof(Patience), Patience, ">= 1");
        SchemaChecks.CheckOption(ValidationFraction > 0 && ValidationFraction < 1, nameof(ValidationFraction), ValidationFraction, "in (0, 1)");
    }
}
