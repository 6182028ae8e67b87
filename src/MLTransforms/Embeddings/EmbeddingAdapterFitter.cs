using MathNet.Numerics.LinearAlgebra;
using MLTransforms.Core.Numerics;

namespace MLTransforms.Embeddings;

/// <summary>
/// Fits every <see cref="EmbeddingAdapterKind"/> from <see cref="PairedStatistics"/> alone (never from the raw
/// pairs), so the cost is O(d³) whatever the number of pairs. Notation: Σ = co-moment / n on centred data,
/// x = new-model vector (input), y = old-model vector (target).
/// </summary>
internal static class EmbeddingAdapterFitter
{
    private static readonly double[] RidgeGrid = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1];

    /// <summary>
    /// Fits a map from statistics split into folds (pair i in fold i mod k, as <see cref="EmbeddingAdapterEstimator"/>
    /// does). The folds pick the ridge penalty by cross-validation when <see cref="EmbeddingAdapterOptions.Ridge"/>
    /// is null; the map itself is fitted on all pairs.
    /// </summary>
    /// <exception cref="ArgumentException">No folds, or folds of different sizes.</exception>
    /// <exception cref="InvalidOperationException">Too few pairs for an unregularised fit, or no variance in the new-model vectors.</exception>
    public static EmbeddingAdapterMap Fit(IReadOnlyList<PairedStatistics> folds, EmbeddingAdapterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(folds);
        options ??= new EmbeddingAdapterOptions();
        options.Validate();
        if (options.Kind == EmbeddingAdapterKind.ResidualMlp)
            throw new InvalidOperationException(
                $"{nameof(EmbeddingAdapterKind)}.{nameof(EmbeddingAdapterKind.ResidualMlp)} trains on the pairs themselves and cannot be fitted from their sufficient statistics " +
                "(means and cross-products). Fit it with the estimator (mlContext.Transforms.EmbeddingAdapter) or with AdapterPairs created with keepPairs: true.");
        var nonEmpty = folds.Where(f => f.Count > 0).ToList();
        if (nonEmpty.Count == 0)
            throw new InvalidOperationException("No pairs to fit an embedding adapter: the statistics are empty.");
        var all = nonEmpty[0].Clone();
        foreach (var f in nonEmpty.Skip(1)) all.Merge(f);
        CheckVariance(all, options);
        double? ridge = options.Ridge;
        if (ridge is null && NeedsRidge(options.Kind))
            ridge = nonEmpty.Count >= 2 ? ChooseRidge(nonEmpty) : DefaultRidge(all);
        return FitCore(all, options, ridge ?? double.NaN, chosen: options.Ridge is null);
    }

    /// <summary>
    /// Fits a map from pooled statistics. Without folds a null <see cref="EmbeddingAdapterOptions.Ridge"/> becomes
    /// 1e-3 times the mean variance of x.
    /// </summary>
    public static EmbeddingAdapterMap Fit(PairedStatistics statistics, EmbeddingAdapterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        return Fit([statistics], options);
    }

    private static bool NeedsRidge(EmbeddingAdapterKind kind)
        => kind is EmbeddingAdapterKind.Ridge or EmbeddingAdapterKind.LambdaOrthogonal or EmbeddingAdapterKind.LowRank;

    /// <summary>A centred fit divides by the spread of the new-model vectors (Procrustes' scale is a ratio of traces; the
    /// automatic ridge is proportional to it), so identical inputs (one pair, or duplicates) would give NaN weights.</summary>
    private static void CheckVariance(PairedStatistics s, EmbeddingAdapterOptions o)
    {
        bool centred = o.Kind != EmbeddingAdapterKind.Procrustes || o.Center;
        if (!centred) return;
        double variance = Trace(Cov(s.NewNew, s.NewSize, s.Count));
        double meanSquare = 0;
        foreach (var m in s.MeanNew) meanSquare += m * m;
        if (!(variance > 1e-12 * meanSquare))
            throw new InvalidOperationException(
                $"No variance in the input column: the new-model vectors of all {s.Count} pairs are the same (total variance {variance:G3}; expected > 0), " +
                $"so a centred {o.Kind} fit is undetermined. Fit on at least two pairs with different new-model vectors.");
    }

    private static double DefaultRidge(PairedStatistics s) => 1e-3 * Trace(Cov(s.NewNew, s.NewSize, s.Count)) / s.NewSize;

    private static EmbeddingAdapterMap FitCore(PairedStatistics s, EmbeddingAdapterOptions o, double ridge, bool chosen)
    {
        string advice = chosen
            ? $"The automatically chosen EmbeddingAdapterOptions.Ridge ({ridge:G3}) is too small for these pairs: set a larger Ridge, or use Procrustes."
            : "Set EmbeddingAdapterOptions.Ridge > 0 (or leave it null to choose one), or use Procrustes.";
        int dx = s.NewSize, dy = s.OldSize;
        var sxx = Cov(s.NewNew, dx, s.Count);
        var sxy = Matrix<double>.Build.DenseOfRowMajor(dx, dy, s.NewOld.ToArray()) / s.Count;
        var syy = Cov(s.OldOld, dy, s.Count);
        var mx = Vector<double>.Build.DenseOfArray(s.MeanNew.ToArray());
        var my = Vector<double>.Build.DenseOfArray(s.MeanOld.ToArray());
        if (NeedsRidge(o.Kind) && ridge == 0 && s.Count <= dx)
            throw new InvalidOperationException(
                $"An unregularised {o.Kind} fit needs more pairs than input dimensions: got {s.Count} pairs of {dx}-d vectors. {advice}");

        Matrix<double> w;
        double scale = double.NaN;
        int iterations = 0;
        bool converged = true;
        bool centred = true;
        switch (o.Kind)
        {
            case EmbeddingAdapterKind.Procrustes:
                centred = o.Center;
                (w, scale) = Procrustes(s, sxx, sxy, syy, mx, my, o.Center, o.Scaling);
                break;
            case EmbeddingAdapterKind.Ridge:
                w = RidgeSolve(sxx, sxy, ridge, advice);
                break;
            case EmbeddingAdapterKind.LambdaOrthogonal:
                w = RidgeSolve(sxx, sxy, ridge, advice);
                if (o.Lambda > 0)
                {
                    // The objective is non-convex (quartic); start from whichever of the ridge and the Procrustes solution scores lower.
                    var rotation = Procrustes(s, sxx, sxy, syy, mx, my, true, AdapterScaling.None).W;
                    if (LambdaObjective(sxx, sxy, rotation, ridge, o.Lambda) < LambdaObjective(sxx, sxy, w, ridge, o.Lambda))
                        w = rotation;
                    (w, iterations, converged) = LambdaOrthogonal(sxx, sxy, syy, w, ridge, o.Lambda, o.MaxIterations, o.Tolerance);
                }
                break;
            case EmbeddingAdapterKind.LowRank:
            {
                Matrix<double> w0;
                if (o.LowRankFromIdentity)
                {
                    if (dx != dy)
                        throw new ArgumentOutOfRangeException(nameof(o), $"Option 'LowRankFromIdentity' needs equal sizes; the new model has {dx} dimensions and the old {dy}.");
                    w0 = Matrix<double>.Build.DenseIdentity(dx);
                    scale = 1;
                }
                else
                    (w0, scale) = Procrustes(s, sxx, sxy, syy, mx, my, true, o.Scaling);
                var delta = RidgeSolve(sxx, sxy - Mul(sxx, w0), ridge, advice);
                var fitted = Mul(delta.Transpose(), Mul(sxx, delta));
                var evd = fitted.Evd(Symmetricity.Symmetric);
                int r = Math.Min(o.Rank, dy);
                var top = evd.EigenVectors.SubMatrix(0, dy, dy - r, r); // eigenvalues ascend
                w = w0 + Mul(Mul(delta, top), top.Transpose());
                break;
            }
            case EmbeddingAdapterKind.OrthogonalExtended:
            {
                (var w0, scale) = Procrustes(s, sxx, sxy, syy, mx, my, true, o.Scaling);
                int e = Math.Min(o.ExtraDimensions, dx);
                var basis = w0 / scale;
                var target = sxx;
                if (dx > dy)
                {
                    var complement = Matrix<double>.Build.DenseIdentity(dx) - basis * basis.Transpose();
                    target = complement * sxx * complement;
                }
                var evd = target.Evd(Symmetricity.Symmetric);
                var extra = evd.EigenVectors.SubMatrix(0, dx, dx - e, e) * scale;
                w = e == 0 ? w0 : w0.Append(extra);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(o), o.Kind, "Unknown adapter kind.");
        }

        var wOld = w.SubMatrix(0, dx, 0, dy);
        var bias = Vector<double>.Build.Dense(w.ColumnCount);
        if (centred)
        {
            var b = my - wOld.TransposeThisAndMultiply(mx);
            bias.SetSubVector(0, dy, b);
            if (w.ColumnCount > dy)
                bias.SetSubVector(dy, w.ColumnCount - dy, -w.SubMatrix(0, dx, dy, w.ColumnCount - dy).TransposeThisAndMultiply(mx));
        }
        double trainError = Inner(wOld, Mul(sxx, wOld)) - 2 * Inner(wOld, sxy) + syy.Trace();
        if (!centred)
        {
            var offset = wOld.TransposeThisAndMultiply(mx) - my;
            trainError += offset.DotProduct(offset);
        }
        var diag = new EmbeddingAdapterDiagnostics(s.Count, NeedsRidge(o.Kind) ? ridge : double.NaN, scale, iterations, converged,
            OrthogonalityError(wOld), trainError);
        var wRow = w.ToRowMajorArray().Select(v => (float)v).ToArray();
        var bRow = bias.Select(v => (float)v).ToArray();
        return new EmbeddingAdapterMap(o.Kind, dx, w.ColumnCount, wRow, bRow, o.NormalizeOutput, diag);
    }

    private static (Matrix<double> W, double Scale) Procrustes(PairedStatistics s, Matrix<double> sxx, Matrix<double> sxy, Matrix<double> syy,
        Vector<double> mx, Vector<double> my, bool center, AdapterScaling scaling)
    {
        var c = center ? sxy : sxy + mx.OuterProduct(my);
        double trX = center ? sxx.Trace() : sxx.Trace() + mx.DotProduct(mx);
        double trY = center ? syy.Trace() : syy.Trace() + my.DotProduct(my);
        // Polar factor W = U Vᵀ of C = U S Vᵀ via the symmetric eigendecomposition Cᵀ C = V S² Vᵀ (W = C V S⁻¹ Vᵀ),
        // several times faster than a full SVD at d = 384; a rank-deficient C (fewer pairs than dimensions) falls back to the SVD.
        bool tall = c.RowCount >= c.ColumnCount;
        var gram = tall ? Mul(c.Transpose(), c) : Mul(c, c.Transpose());
        var evd = gram.Evd(Symmetricity.Symmetric);
        var eig = evd.EigenValues.Real();
        Matrix<double> w;
        double sumS;
        if (eig.Minimum() > 1e-12 * eig.Maximum())
        {
            var v = evd.EigenVectors;
            var vs = v.Clone();
            for (int j = 0; j < vs.ColumnCount; j++) vs.SetColumn(j, v.Column(j) / Math.Sqrt(eig[j]));
            var inverseRoot = Mul(vs, v.Transpose());
            w = tall ? Mul(c, inverseRoot) : Mul(inverseRoot, c);
            sumS = eig.Select(Math.Sqrt).Sum();
        }
        else
        {
            // C is (numerically) rank-deficient: fewer pairs than dimensions, or a model with dead dimensions (MiniLM has
            // about 3 directions without variance, so σ ≈ 1e-17 even for thousands of pairs). The polar factor is then
            // not unique: the data fixes W only on the directions with σ > 1e-8 σ_max, and the rotation of the rest that an
            // SVD returns follows rounding noise (max |ΔW| 0.46 between two summation orders of the same pairs). Complete
            // it canonically instead: the orthogonal map between the two null spaces closest to the identity, the polar
            // factor of P_x I P_y (P = projector on a null space), which depends on the subspaces only, not on their bases.
            var svd = c.Svd(computeVectors: true);
            int r = Math.Min(s.NewSize, s.OldSize);
            double cut = 1e-8 * svd.S[0];
            int kept = 0;
            while (kept < r && svd.S[kept] > cut) kept++;
            var ur = svd.U.SubMatrix(0, s.NewSize, 0, kept);
            var vr = svd.VT.SubMatrix(0, kept, 0, s.OldSize);
            w = Mul(ur, vr);
            if (kept < r)
            {
                var px = Matrix<double>.Build.DenseIdentity(s.NewSize) - Mul(ur, ur.Transpose());
                var py = Matrix<double>.Build.DenseIdentity(s.OldSize) - Mul(vr.Transpose(), vr);
                var between = Mul(Mul(px, Matrix<double>.Build.DenseIdentity(s.NewSize, s.OldSize)), py).Svd(computeVectors: true);
                w += Mul(between.U.SubMatrix(0, s.NewSize, 0, r - kept), between.VT.SubMatrix(0, r - kept, 0, s.OldSize));
            }
            sumS = svd.S.Sum();
        }
        double scale = scaling switch
        {
            AdapterScaling.LeastSquares => sumS / trX,
            AdapterScaling.MatchSpread => Math.Sqrt(trY / trX),
            _ => 1,
        };
        return (w * scale, scale);
    }

    private static Matrix<double> RidgeSolve(Matrix<double> sxx, Matrix<double> rhs, double ridge, string advice)
    {
        int d = sxx.RowCount, n = rhs.ColumnCount;
        var a = sxx.ToRowMajorArray();
        double maxDiag = 0;
        for (int i = 0; i < d; i++) { a[i * d + i] += ridge; maxDiag = Math.Max(maxDiag, a[i * d + i]); }
        // Cholesky A = L Lᵀ in place (lower triangle), row-oriented so the inner products are contiguous.
        for (int i = 0; i < d; i++)
        {
            var ri = a.AsSpan(i * d, d);
            for (int j = 0; j <= i; j++)
            {
                var rj = a.AsSpan(j * d, j);
                double sum = ri[j] - System.Numerics.Tensors.TensorPrimitives.Dot<double>(ri.Slice(0, j), rj);
                if (i == j)
                {
                    if (!(sum > maxDiag * 1e-13))
                        throw new InvalidOperationException(
                            $"The new-model covariance is singular (pivot {sum:G3} at dimension {i}): the fit is undetermined. {advice}");
                    ri[i] = Math.Sqrt(sum);
                }
                else ri[j] = sum / a[j * d + j];
            }
        }
        var x = rhs.ToRowMajorArray();
        for (int i = 0; i < d; i++) // L Z = B
        {
            var xi = x.AsSpan(i * n, n);
            for (int j = 0; j < i; j++) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<double>(x.AsSpan(j * n, n), -a[i * d + j], xi, xi);
            System.Numerics.Tensors.TensorPrimitives.Divide<double>(xi, a[i * d + i], xi);
        }
        for (int i = d - 1; i >= 0; i--) // Lᵀ X = Z
        {
            var xi = x.AsSpan(i * n, n);
            System.Numerics.Tensors.TensorPrimitives.Divide<double>(xi, a[i * d + i], xi);
            for (int j = 0; j < i; j++) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<double>(xi, -a[i * d + j], x.AsSpan(j * n, n), x.AsSpan(j * n, n));
        }
        return Matrix<double>.Build.DenseOfRowMajor(d, n, x);
    }

    /// <summary>K-fold choice of the ridge penalty from per-fold statistics; every candidate costs O(d²) after one eigendecomposition per fold.</summary>
    internal static double ChooseRidge(IReadOnlyList<PairedStatistics> folds)
    {
        var total = new double[RidgeGrid.Length];
        var pooled = folds[0].Clone();
        foreach (var f in folds.Skip(1)) pooled.Merge(f);
        double tau = Trace(Cov(pooled.NewNew, pooled.NewSize, pooled.Count)) / pooled.NewSize;
        for (int fi = 0; fi < folds.Count; fi++)
        {
            PairedStatistics? train = null;
            for (int j = 0; j < folds.Count; j++)
            {
                if (j == fi) continue;
                if (train is null) train = folds[j].Clone(); else train.Merge(folds[j]);
            }
            if (train is null || train.Count < 2) continue;
            var held = folds[fi];
            int dx = train.NewSize, dy = train.OldSize;
            var sxx = Cov(train.NewNew, dx, train.Count);
            var sxy = Matrix<double>.Build.DenseOfRowMajor(dx, dy, train.NewOld.ToArray()) / train.Count;
            var evd = sxx.Evd(Symmetricity.Symmetric);
            var q = evd.EigenVectors;
            var lam = evd.EigenValues.Real();
            var qt = q.Transpose().ToRowMajorArray();
            var qa = q.ToRowMajorArray();
            var pa = DenseMath.Multiply(qt, sxy.ToRowMajorArray(), dx, dx, dy);                       // Q^T Σxy
            var ga = DenseMath.Multiply(qt, held.NewOld.ToArray(), dx, dx, dy);                       // Q^T Sxy_F
            var h = Matrix<double>.Build.DenseOfRowMajor(dx, dx, DenseMath.Multiply(DenseMath.Multiply(qt, held.NewNew.ToArray(), dx, dx, dx), qa, dx, dx, dx));
            var p = Matrix<double>.Build.DenseOfRowMajor(dx, dy, pa);
            var ppt = Matrix<double>.Build.DenseOfRowMajor(dx, dx, DenseMath.Multiply(pa, DenseMath.Transpose(pa, dx, dy), dx, dy, dx));
            var gp = new double[dx];
            for (int k = 0; k < dx; k++)
                gp[k] = System.Numerics.Tensors.TensorPrimitives.Dot<double>(ga.AsSpan(k * dy, dy), pa.AsSpan(k * dy, dy));
            var dxv = Vector<double>.Build.DenseOfArray(held.MeanNew.ToArray()) - Vector<double>.Build.DenseOfArray(train.MeanNew.ToArray());
            var dyv = Vector<double>.Build.DenseOfArray(held.MeanOld.ToArray()) - Vector<double>.Build.DenseOfArray(train.MeanOld.ToArray());
            var u = q.TransposeThisAndMultiply(dxv);
            var pdy = p * dyv;
            double dyy = dyv.DotProduct(dyv);
            var hm = h.ToArray();
            var pptm = ppt.ToArray();
            for (int gi = 0; gi < RidgeGrid.Length; gi++)
            {
                double lambda = RidgeGrid[gi] * tau;
                var d = new double[dx];
                for (int k = 0; k < dx; k++) d[k] = 1 / Math.Max(lam[k] + lambda, 1e-300);
                double quad = 0, cross = 0, meanQuad = 0, meanCross = 0;
                for (int k = 0; k < dx; k++)
                {
                    double rowSum = 0, meanRow = 0;
                    for (int l = 0; l < dx; l++)
                    {
                        rowSum += d[l] * hm[k, l] * pptm[l, k];
                        meanRow += u[l] * d[l] * pptm[k, l];
                    }
                    quad += d[k] * rowSum;
                    meanQuad += u[k] * d[k] * meanRow;
                    cross += d[k] * gp[k];
                    meanCross += u[k] * d[k] * pdy[k];
                }
                total[gi] += quad - 2 * cross + held.Count * (meanQuad - 2 * meanCross + dyy);
            }
        }
        int best = Array.IndexOf(total, total.Min());
        return RidgeGrid[best] * tau;
    }

    /// <summary>
    /// Preconditioned L-BFGS (memory 8) on F(W) = tr(WᵀΣxxW) - 2 tr(WᵀΣxy) + tr(Σyy) + α||W||² + λ||WᵀW - I||², with backtracking
    /// Armijo line search. Along a direction F is a quartic in the step, so trial steps cost O(d²) after four d³
    /// products; each iteration costs five d³ products whatever the number of pairs.
    /// </summary>
    private static (Matrix<double> W, int Iterations, bool Converged) LambdaOrthogonal(Matrix<double> sxxM, Matrix<double> sxyM,
        Matrix<double> syyM, Matrix<double> w0, double alpha, double lambda, int maxIterations, double tol)
    {
        int dx = w0.RowCount, dy = w0.ColumnCount, size = dx * dy;
        var sxx = sxxM.ToRowMajorArray();
        var sxy = sxyM.ToRowMajorArray();
        double trYY = syyM.Trace();
        var w = w0.ToRowMajorArray();
        var a0 = DenseMath.Multiply(sxx, w, dx, dx, dy);
        var e = DenseMath.TransposeMultiply(w, w, dx, dy, dy);
        for (int i = 0; i < dy; i++) e[i * dy + i] -= 1;
        // Preconditioner H0 ≈ Hessian⁻¹: the quadratic part's Hessian is 2(Σxx + αI) ⊗ I and the orthogonality term adds
        // about 8λ near an orthogonal W, so H0 = Q diag(1 / (2(Λ + α) + 8λ)) Qᵀ; without it Σxx's condition number stalls L-BFGS.
        var evd = sxxM.Evd(Symmetricity.Symmetric);
        var q = evd.EigenVectors.ToRowMajorArray();
        var qt = DenseMath.Transpose(q, dx, dx);
        var h0 = evd.EigenValues.Real().Select(l => 1 / (2 * (Math.Max(l, 0) + alpha) + 8 * lambda)).ToArray();
        double[] Precondition(double[] v)
        {
            var t = DenseMath.Multiply(qt, v, dx, dx, dy);
            for (int i = 0; i < dx; i++)
                System.Numerics.Tensors.TensorPrimitives.Multiply<double>(t.AsSpan(i * dy, dy), h0[i], t.AsSpan(i * dy, dy));
            return DenseMath.Multiply(q, t, dx, dx, dy);
        }
        double Objective(double[] ww, double[] aw, double[] ee)
            => DenseMath.Dot(ww, aw) - 2 * DenseMath.Dot(ww, sxy) + trYY + alpha * DenseMath.Dot(ww, ww) + lambda * DenseMath.Dot(ee, ee);
        double[] Gradient(double[] ww, double[] aw, double[] ee)
        {
            var we = DenseMath.Multiply(ww, ee, dx, dy, dy);
            var g = new double[size];
            for (int i = 0; i < size; i++) g[i] = 2 * (aw[i] - sxy[i]) + 2 * alpha * ww[i] + 4 * lambda * we[i];
            return g;
        }
        double f = Objective(w, a0, e);
        var grad = Gradient(w, a0, e);
        var sHist = new List<double[]>();
        var yHist = new List<double[]>();
        var rhoHist = new List<double>();
        for (int it = 1; it <= maxIterations; it++)
        {
            double gnorm = Math.Sqrt(DenseMath.Dot(grad, grad));
            if (gnorm <= tol * (1 + Math.Abs(f)))
                return (Matrix<double>.Build.DenseOfRowMajor(dx, dy, w), it - 1, true);
            var p = (double[])grad.Clone();
            var alphas = new double[sHist.Count];
            for (int i = sHist.Count - 1; i >= 0; i--)
            {
                alphas[i] = rhoHist[i] * DenseMath.Dot(sHist[i], p);
                Axpy(-alphas[i], yHist[i], p);
            }
            p = Precondition(p);
            for (int i = 0; i < sHist.Count; i++)
            {
                double beta = rhoHist[i] * DenseMath.Dot(yHist[i], p);
                Axpy(alphas[i] - beta, sHist[i], p);
            }
            for (int i = 0; i < size; i++) p[i] = -p[i];
            double slope = DenseMath.Dot(grad, p);
            if (slope >= 0)
            {
                for (int i = 0; i < size; i++) p[i] = -grad[i];
                slope = -gnorm * gnorm;
                sHist.Clear(); yHist.Clear(); rhoHist.Clear();
            }
            // F(W + t p) as a polynomial in t.
            var ap = DenseMath.Multiply(sxx, p, dx, dx, dy);
            var wtp = DenseMath.TransposeMultiply(w, p, dx, dy, dy);
            var bm = new double[dy * dy];
            for (int i = 0; i < dy; i++)
                for (int j = 0; j < dy; j++) bm[i * dy + j] = wtp[i * dy + j] + wtp[j * dy + i];
            var cm = DenseMath.TransposeMultiply(p, p, dx, dy, dy);
            double q1 = 2 * DenseMath.Dot(p, a0) - 2 * DenseMath.Dot(p, sxy) + 2 * alpha * DenseMath.Dot(w, p);
            double q2 = DenseMath.Dot(p, ap) + alpha * DenseMath.Dot(p, p);
            double eb = DenseMath.Dot(e, bm), bb = DenseMath.Dot(bm, bm), ec = DenseMath.Dot(e, cm), bc = DenseMath.Dot(bm, cm), cc = DenseMath.Dot(cm, cm);
            double Ft(double t) => f + q1 * t + q2 * t * t + lambda * (2 * eb * t + (bb + 2 * ec) * t * t + 2 * bc * t * t * t + cc * t * t * t * t);
            double step = 1, ft = Ft(step);
            while (ft > f + 1e-4 * step * slope && step > 1e-20)
            {
                step *= 0.5;
                ft = Ft(step);
            }
            if (step <= 1e-20)
                return (Matrix<double>.Build.DenseOfRowMajor(dx, dy, w), it, false);
            var wNew = new double[size];
            var aNew = new double[size];
            var sv = new double[size];
            for (int i = 0; i < size; i++)
            {
                sv[i] = step * p[i];
                wNew[i] = w[i] + sv[i];
                aNew[i] = a0[i] + step * ap[i];
            }
            var eNew = new double[dy * dy];
            for (int i = 0; i < eNew.Length; i++) eNew[i] = e[i] + step * bm[i] + step * step * cm[i];
            var gNew = Gradient(wNew, aNew, eNew);
            var yv = new double[size];
            for (int i = 0; i < size; i++) yv[i] = gNew[i] - grad[i];
            double sy = DenseMath.Dot(sv, yv);
            if (sy > 1e-300)
            {
                if (sHist.Count == 8) { sHist.RemoveAt(0); yHist.RemoveAt(0); rhoHist.RemoveAt(0); }
                sHist.Add(sv); yHist.Add(yv); rhoHist.Add(1 / sy);
            }
            double fOld = f;
            (w, a0, e, grad, f) = (wNew, aNew, eNew, gNew, ft);
            if (Math.Abs(fOld - f) <= 1e-15 * Math.Max(1, Math.Abs(f)))
            {
                double gn = Math.Sqrt(DenseMath.Dot(grad, grad));
                return (Matrix<double>.Build.DenseOfRowMajor(dx, dy, w), it, gn <= Math.Sqrt(tol) * (1 + Math.Abs(f)));
            }
        }
        double gFinal = Math.Sqrt(DenseMath.Dot(grad, grad));
        return (Matrix<double>.Build.DenseOfRowMajor(dx, dy, w), maxIterations, gFinal <= tol * (1 + Math.Abs(f)));
    }

    private static double LambdaObjective(Matrix<double> sxx, Matrix<double> sxy, Matrix<double> w, double alpha, double lambda)
    {
        var e = Mul(w.Transpose(), w) - Matrix<double>.Build.DenseIdentity(w.ColumnCount);
        return Inner(w, Mul(sxx, w)) - 2 * Inner(w, sxy) + alpha * Inner(w, w) + lambda * Inner(e, e);
    }

    internal static double OrthogonalityError(Matrix<double> w)
    {
        int r = Math.Min(w.RowCount, w.ColumnCount);
        var gram = w.RowCount >= w.ColumnCount ? w.TransposeThisAndMultiply(w) : w * w.Transpose();
        double scale2 = gram.Trace() / r;
        if (scale2 <= 0) return double.NaN;
        return (gram / scale2 - Matrix<double>.Build.DenseIdentity(r)).FrobeniusNorm() / Math.Sqrt(r);
    }

    private static Matrix<double> Cov(ReadOnlySpan<double> comoment, int d, long n)
        => Matrix<double>.Build.DenseOfRowMajor(d, d, comoment.ToArray()) / n;

    private static double Trace(Matrix<double> m) => m.Trace();
    private static Matrix<double> Mul(Matrix<double> a, Matrix<double> b)
        => Matrix<double>.Build.DenseOfRowMajor(a.RowCount, b.ColumnCount, DenseMath.Multiply(a.ToRowMajorArray(), b.ToRowMajorArray(), a.RowCount, a.ColumnCount, b.ColumnCount));
    private static double Inner(Matrix<double> a, Matrix<double> b) => DenseMath.Dot(a.ToRowMajorArray(), b.ToRowMajorArray());
    private static void Axpy(double a, double[] x, double[] y) { for (int i = 0; i < y.Length; i++) y[i] += a * x[i]; }
}
