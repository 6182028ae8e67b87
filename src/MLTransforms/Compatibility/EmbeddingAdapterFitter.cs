using MathNet.Numerics.LinearAlgebra;

namespace MLTransforms.Compatibility;

/// <summary>
/// Fits every <see cref="EmbeddingAdapterKind"/> from <see cref="PairedStatistics"/> alone (never from the raw
/// pairs), so the cost is O(d³) whatever the number of pairs. Notation: Σ = co-moment / n on centred data,
/// x = new-model vector (input), y = old-model vector (target).
/// </summary>
public static class EmbeddingAdapterFitter
{
    private static readonly double[] RidgeGrid = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1];

    /// <summary>
    /// Fits a map from statistics split into folds (pair i in fold i mod k, as <see cref="EmbeddingAdapterEstimator"/>
    /// does). The folds pick the ridge penalty by cross-validation when <see cref="EmbeddingAdapterOptions.Ridge"/>
    /// is null; the map itself is fitted on all pairs.
    /// </summary>
    /// <exception cref="ArgumentException">No folds, or folds of different sizes.</exception>
    /// <exception cref="InvalidOperationException">Too few pairs for an unregularised fit.</exception>
    public static EmbeddingAdapterMap Fit(IReadOnlyList<PairedStatistics> folds, EmbeddingAdapterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(folds);
        options ??= new EmbeddingAdapterOptions();
        options.Validate();
        var nonEmpty = folds.Where(f => f.Count > 0).ToList();
        if (nonEmpty.Count == 0)
            throw new InvalidOperationException("No pairs to fit an embedding adapter: the statistics are empty.");
        var all = nonEmpty[0].Clone();
        foreach (var f in nonEmpty.Skip(1)) all.Merge(f);
        double? ridge = options.Ridge;
        if (ridge is null && NeedsRidge(options.Kind))
            ridge = nonEmpty.Count >= 2 ? ChooseRidge(nonEmpty) : DefaultRidge(all);
        return FitCore(all, options, ridge ?? double.NaN);
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

    private static double DefaultRidge(PairedStatistics s) => 1e-3 * Trace(Cov(s.NewNew, s.NewSize, s.Count)) / s.NewSize;

    private static EmbeddingAdapterMap FitCore(PairedStatistics s, EmbeddingAdapterOptions o, double ridge)
    {
        int dx = s.NewSize, dy = s.OldSize;
        var sxx = Cov(s.NewNew, dx, s.Count);
        var sxy = Matrix<double>.Build.DenseOfRowMajor(dx, dy, s.NewOld.ToArray()) / s.Count;
        var syy = Cov(s.OldOld, dy, s.Count);
        var mx = Vector<double>.Build.DenseOfArray(s.MeanNew.ToArray());
        var my = Vector<double>.Build.DenseOfArray(s.MeanOld.ToArray());
        if (NeedsRidge(o.Kind) && ridge == 0 && s.Count <= dx)
            throw new InvalidOperationException(
                $"An unregularised {o.Kind} fit needs more pairs than input dimensions: got {s.Count} pairs of {dx}-d vectors. Set EmbeddingAdapterOptions.Ridge > 0 (or leave it null to choose one), or use Procrustes.");

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
                w = RidgeSolve(sxx, sxy, ridge);
                break;
            case EmbeddingAdapterKind.LambdaOrthogonal:
                w = RidgeSolve(sxx, sxy, ridge);
                if (o.Lambda > 0)
                    (w, iterations, converged) = LambdaOrthogonal(sxx, sxy, syy, w, ridge, o.Lambda, o.MaxIterations, o.Tolerance);
                break;
            case EmbeddingAdapterKind.LowRank:
            {
                (var w0, scale) = Procrustes(s, sxx, sxy, syy, mx, my, true, o.Scaling);
                var delta = RidgeSolve(sxx, sxy - sxx * w0, ridge);
                var fitted = delta.TransposeThisAndMultiply(sxx * delta);
                var evd = fitted.Evd(Symmetricity.Symmetric);
                int r = Math.Min(o.Rank, dy);
                var top = evd.EigenVectors.SubMatrix(0, dy, dy - r, r); // eigenvalues ascend
                w = w0 + delta * top * top.Transpose();
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
        double trainError = (wOld.TransposeThisAndMultiply(sxx * wOld)).Trace() - 2 * wOld.TransposeThisAndMultiply(sxy).Trace() + syy.Trace();
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
        var svd = c.Svd(computeVectors: true);
        int r = Math.Min(s.NewSize, s.OldSize);
        var w = svd.U.SubMatrix(0, s.NewSize, 0, r) * svd.VT.SubMatrix(0, r, 0, s.OldSize);
        double scale = scaling switch
        {
            AdapterScaling.LeastSquares => svd.S.Sum() / trX,
            AdapterScaling.MatchSpread => Math.Sqrt(trY / trX),
            _ => 1,
        };
        return (w * scale, scale);
    }

    private static Matrix<double> RidgeSolve(Matrix<double> sxx, Matrix<double> rhs, double ridge)
    {
        var a = sxx + Matrix<double>.Build.DenseIdentity(sxx.RowCount) * ridge;
        if (ridge > 0)
            return a.Cholesky().Solve(rhs);
        var evd = a.Evd(Symmetricity.Symmetric);
        double min = evd.EigenValues.Real().Minimum(), max = evd.EigenValues.Real().Maximum();
        if (min <= max * 1e-12)
            throw new InvalidOperationException(
                $"The new-model covariance is singular (eigenvalues {min:G3} .. {max:G3}): an unregularised fit is undetermined. Set EmbeddingAdapterOptions.Ridge > 0 or leave it null.");
        return a.Cholesky().Solve(rhs);
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
            var p = q.TransposeThisAndMultiply(sxy);                                        // dx x dy
            var g = q.TransposeThisAndMultiply(Matrix<double>.Build.DenseOfRowMajor(dx, dy, held.NewOld.ToArray())); // Q^T Sxy_F
            var h = q.TransposeThisAndMultiply(Matrix<double>.Build.DenseOfRowMajor(dx, dx, held.NewNew.ToArray()) * q);
            var ppt = p * p.Transpose();
            var gp = new double[dx];
            for (int k = 0; k < dx; k++) gp[k] = g.Row(k).DotProduct(p.Row(k));
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
    /// L-BFGS (memory 8) on F(W) = tr(WᵀΣxxW) - 2 tr(WᵀΣxy) + α||W||² + λ||WᵀW - I||², with backtracking Armijo line
    /// search. Along a direction F is a quartic in the step, so trial steps cost O(d²) after four d³ products.
    /// </summary>
    private static (Matrix<double> W, int Iterations, bool Converged) LambdaOrthogonal(Matrix<double> sxx, Matrix<double> sxy,
        Matrix<double> syy, Matrix<double> w, double alpha, double lambda, int maxIterations, double tol)
    {
        int dy = w.ColumnCount, size = w.RowCount * dy;
        var identity = Matrix<double>.Build.DenseIdentity(dy);
        var a0 = sxx * w;
        var e = w.TransposeThisAndMultiply(w) - identity;
        double F(Matrix<double> ww, Matrix<double> aw, Matrix<double> ee)
            => ww.TransposeThisAndMultiply(aw).Trace() - 2 * ww.TransposeThisAndMultiply(sxy).Trace() + syy.Trace()
               + alpha * Frob2(ww) + lambda * Frob2(ee);
        Matrix<double> Grad(Matrix<double> ww, Matrix<double> aw, Matrix<double> ee)
            => 2 * (aw - sxy) + 2 * alpha * ww + 4 * lambda * (ww * ee);
        double f = F(w, a0, e);
        var grad = Grad(w, a0, e);
        var sHist = new List<double[]>();
        var yHist = new List<double[]>();
        var rhoHist = new List<double>();
        for (int it = 1; it <= maxIterations; it++)
        {
            if (grad.FrobeniusNorm() <= tol * (1 + Math.Abs(f)))
                return (w, it - 1, true);
            // Two-loop recursion on the flattened gradient.
            var qv = grad.ToColumnMajorArray();
            var alphas = new double[sHist.Count];
            for (int i = sHist.Count - 1; i >= 0; i--)
            {
                alphas[i] = rhoHist[i] * Dot(sHist[i], qv);
                Axpy(-alphas[i], yHist[i], qv);
            }
            double gamma = sHist.Count > 0 ? Dot(sHist[^1], yHist[^1]) / Dot(yHist[^1], yHist[^1]) : 1 / Math.Max(grad.FrobeniusNorm(), 1e-300);
            for (int i = 0; i < size; i++) qv[i] *= gamma;
            for (int i = 0; i < sHist.Count; i++)
            {
                double beta = rhoHist[i] * Dot(yHist[i], qv);
                Axpy(alphas[i] - beta, sHist[i], qv);
            }
            var p = -Matrix<double>.Build.DenseOfColumnMajor(w.RowCount, dy, qv);
            double slope = grad.PointwiseMultiply(p).Enumerate().Sum();
            if (slope >= 0)
            {
                p = -grad;
                slope = -grad.PointwiseMultiply(grad).Enumerate().Sum();
                sHist.Clear(); yHist.Clear(); rhoHist.Clear();
            }
            // F(W + t p) as a polynomial in t.
            var ap = sxx * p;
            var wtp = w.TransposeThisAndMultiply(p);
            var bm = wtp + wtp.Transpose();
            var cm = p.TransposeThisAndMultiply(p);
            double q1 = 2 * Inner(p, a0) - 2 * Inner(p, sxy) + 2 * alpha * Inner(w, p);
            double q2 = Inner(p, ap) + alpha * Frob2(p);
            double eb = Inner(e, bm), bb = Frob2(bm), ec = Inner(e, cm), bc = Inner(bm, cm), cc = Frob2(cm);
            double Ft(double t) => f + q1 * t + q2 * t * t + lambda * (2 * eb * t + (bb + 2 * ec) * t * t + 2 * bc * t * t * t + cc * t * t * t * t);
            double step = 1, ft = Ft(step);
            while (ft > f + 1e-4 * step * slope && step > 1e-20)
            {
                step *= 0.5;
                ft = Ft(step);
            }
            if (step <= 1e-20)
                return (w, it, false);
            var wNew = w + step * p;
            var aNew = a0 + step * ap;
            var eNew = e + step * bm + step * step * cm;
            var gNew = Grad(wNew, aNew, eNew);
            var sv = (step * p).ToColumnMajorArray();
            var yv = (gNew - grad).ToColumnMajorArray();
            double sy = Dot(sv, yv);
            if (sy > 1e-300)
            {
                if (sHist.Count == 8) { sHist.RemoveAt(0); yHist.RemoveAt(0); rhoHist.RemoveAt(0); }
                sHist.Add(sv); yHist.Add(yv); rhoHist.Add(1 / sy);
            }
            double fOld = f;
            (w, a0, e, grad, f) = (wNew, aNew, eNew, gNew, ft);
            if (Math.Abs(fOld - f) <= 1e-15 * Math.Max(1, Math.Abs(f)))
                return (w, it, grad.FrobeniusNorm() <= Math.Sqrt(tol) * (1 + Math.Abs(f)));
        }
        return (w, maxIterations, grad.FrobeniusNorm() <= tol * (1 + Math.Abs(f)));
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
    private static double Frob2(Matrix<double> m) { double s = 0; foreach (var v in m.AsColumnMajorArray() ?? m.ToColumnMajorArray()) s += v * v; return s; }
    private static double Inner(Matrix<double> a, Matrix<double> b) => Dot(a.AsColumnMajorArray() ?? a.ToColumnMajorArray(), b.AsColumnMajorArray() ?? b.ToColumnMajorArray());
    private static double Dot(double[] a, double[] b) => System.Numerics.Tensors.TensorPrimitives.Dot<double>(a, b);
    private static void Axpy(double a, double[] x, double[] y) { for (int i = 0; i < y.Length; i++) y[i] += a * x[i]; }
}
