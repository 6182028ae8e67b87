using MathNet.Numerics.LinearAlgebra;

namespace MLTransforms.TimeSeries;

/// <summary>
/// Closed-form ridge in the OrthoTrans domain, from sufficient statistics. Inputs z = R u (u the normalised input
/// features, R the input rotation: P_T, plus the window level under <see cref="WindowNormalization.SubtractMeanKeepLevel"/>),
/// targets c = P_H y'. Each output coefficient c_i gets its own ridge b_i = (S_zz + lambda_i W_i)^-1 S_zc,i, where
/// W_i = diag(w) is one of a few penalty-weight vectors (e.g. w_j = (mu_j / mean mu)^-alpha: trailing, noisy
/// components shrink more) and (W_i, lambda_i) are chosen on the validation windows, or b_i = 0 (output truncation)
/// when that validates better. Because P_H is orthogonal, the validation squared error is the sum of the
/// per-coefficient errors, so choosing per coefficient minimises the total.
/// </summary>
internal static class OrthoRidgeSolver
{
    /// <summary>The solution: <see cref="Coefficients"/> is D x H (column i maps z to c_i); per output the chosen
    /// weight set and absolute penalty (infinity: truncated).</summary>
    internal sealed record Result(Matrix<double> Coefficients, int[] WeightSet, double[] Penalty, double ValidationMse, double Scale);

    /// <param name="train">Normalised train Gram ((D + H) square, inputs first).</param>
    /// <param name="validation">Normalised validation Gram, or null (then the first penalty and weight set are used).</param>
    /// <param name="validationCount">Number of validation windows.</param>
    /// <param name="inputRotation">R (D x D, orthogonal).</param>
    /// <param name="outputBasis">P_H.</param>
    /// <param name="penalties">Relative penalties: lambda = r * trace(S_zz) / D.</param>
    /// <param name="weightSets">Penalty weights per input coordinate (length D each).</param>
    /// <param name="shared">One (weights, lambda) for all outputs, no truncation: plain ridge.</param>
    /// <param name="maxOutputs">Outputs from this index on are truncated.</param>
    public static Result Solve(Matrix<double> train, Matrix<double>? validation, long validationCount,
        Matrix<double> inputRotation, OrthoTransBasis outputBasis, IReadOnlyList<double> penalties, IReadOnlyList<Vector<double>> weightSets,
        bool shared, int maxOutputs)
    {
        int d = inputRotation.RowCount, h = outputBasis.Length;
        var ph = Rows(outputBasis);
        var szz = inputRotation * train.SubMatrix(0, d, 0, d) * inputRotation.Transpose();
        var szc = inputRotation * train.SubMatrix(0, d, d, h) * ph.Transpose();
        Matrix<double>? vzz = null, vzc = null;
        double[]? vcc = null;
        if (validation != null)
        {
            vzz = inputRotation * validation.SubMatrix(0, d, 0, d) * inputRotation.Transpose();
            vzc = inputRotation * validation.SubMatrix(0, d, d, h) * ph.Transpose();
            var vyy = ph * validation.SubMatrix(d, h, d, h) * ph.Transpose();
            vcc = Enumerable.Range(0, h).Select(i => vyy[i, i]).ToArray();
        }
        double scale = szz.Trace() / d;
        if (validation == null) { penalties = [penalties[0]]; weightSets = [weightSets[0]]; }

        // Validation error of every (weights, penalty) for every output coefficient, via the eigenbasis of the
        // re-weighted S_zz: each penalty then costs one D x D x H product and no solve.
        var best = Enumerable.Range(0, h).Select(i => (Err: vcc?[i] ?? double.PositiveInfinity, A: -1, L: -1)).ToArray();
        var errTotal = new double[weightSets.Count, penalties.Count];
        var cache = new (Matrix<double> DV, Vector<double> Lambda, Matrix<double> R)[weightSets.Count];
        for (int a = 0; a < weightSets.Count; a++)
        {
            var dm = Matrix<double>.Build.DiagonalOfDiagonalVector(weightSets[a].Map(w => 1 / Math.Sqrt(w))); // W^-1/2
            var evd = (dm * szz * dm).Evd(Symmetricity.Symmetric);
            var dv = dm * evd.EigenVectors;
            var lam = Vector<double>.Build.Dense(d, j => Math.Max(evd.EigenValues[j].Real, 0));
            var r = dv.TransposeThisAndMultiply(szc);
            cache[a] = (dv, lam, r);
            if (validation == null) continue;
            var sv = dv.TransposeThisAndMultiply(vzz!) * dv;
            var rv = dv.TransposeThisAndMultiply(vzc!).ToColumnMajorArray();
            for (int p = 0; p < penalties.Count; p++)
            {
                var g = Scaled(r, lam, penalties[p] * scale);
                var svg = (sv * g).ToColumnMajorArray();
                var ga = g.ToColumnMajorArray();
                for (int i = 0; i < h; i++)
                {
                    var gi = ga.AsSpan(i * d, d);
                    double cross = System.Numerics.Tensors.TensorPrimitives.Dot(gi, rv.AsSpan(i * d, d));
                    double quad = System.Numerics.Tensors.TensorPrimitives.Dot(gi, svg.AsSpan(i * d, d));
                    double err = vcc![i] - 2 * cross + quad;
                    errTotal[a, p] += err;
                    if (!shared && i < maxOutputs && err < best[i].Err) best[i] = (err, a, p);
                }
            }
        }
        if (shared || validation == null)
        {
            var (ba, bp) = (0, 0);
            for (int a = 0; a < weightSets.Count; a++)
                for (int p = 0; p < penalties.Count; p++)
                    if (errTotal[a, p] < errTotal[ba, bp]) (ba, bp) = (a, p);
            for (int i = 0; i < h; i++)
                best[i] = i < maxOutputs ? (double.NaN, ba, bp) : (double.NaN, -1, -1);
        }

        var coef = Matrix<double>.Build.Dense(d, h);
        for (int a = 0; a < weightSets.Count; a++)
            for (int p = 0; p < penalties.Count; p++)
            {
                var outs = Enumerable.Range(0, h).Where(i => best[i].A == a && best[i].L == p).ToArray();
                if (outs.Length == 0) continue;
                var (dv, lam, r) = cache[a];
                var g = Scaled(r, lam, penalties[p] * scale);
                foreach (int i in outs)
                    coef.SetColumn(i, dv * g.Column(i));
            }
        double valMse = validation == null ? double.NaN
            : (shared ? errTotal.Cast<double>().Min() : best.Sum(b => b.Err)) / (validationCount * (double)h);
        return new Result(coef, best.Select(b => b.A).ToArray(),
            best.Select(b => b.L < 0 ? double.PositiveInfinity : penalties[b.L] * scale).ToArray(), valMse, scale);
    }

    /// <summary>Solves each output with a given weight set and absolute penalty (refit on more data).</summary>
    public static Matrix<double> SolveFixed(Matrix<double> train, Matrix<double> inputRotation, OrthoTransBasis outputBasis,
        IReadOnlyList<Vector<double>> weightSets, int[] weightSet, double[] penalty)
    {
        int d = inputRotation.RowCount, h = outputBasis.Length;
        var ph = Rows(outputBasis);
        var szz = inputRotation * train.SubMatrix(0, d, 0, d) * inputRotation.Transpose();
        var szc = inputRotation * train.SubMatrix(0, d, d, h) * ph.Transpose();
        var coef = Matrix<double>.Build.Dense(d, h);
        foreach (var group in Enumerable.Range(0, h).Where(i => weightSet[i] >= 0).GroupBy(i => (weightSet[i], penalty[i])))
        {
            var a = szz + Matrix<double>.Build.DiagonalOfDiagonalVector(weightSets[group.Key.Item1] * group.Key.Item2);
            var cols = group.ToArray();
            var rhs = Matrix<double>.Build.Dense(d, cols.Length, (j, k) => szc[j, cols[k]]);
            var sol = a.Cholesky().Solve(rhs);
            for (int k = 0; k < cols.Length; k++) coef.SetColumn(cols[k], sol.Column(k));
        }
        return coef;
    }

    /// <summary>G = diag(1 / (lambda + penalty)) R.</summary>
    private static Matrix<double> Scaled(Matrix<double> r, Vector<double> lam, double penalty)
    {
        var inv = Vector<double>.Build.Dense(lam.Count, j => 1 / (lam[j] + penalty));
        return Matrix<double>.Build.DiagonalOfDiagonalVector(inv) * r;
    }

    /// <summary>The basis vectors as rows of a matrix (P).</summary>
    internal static Matrix<double> Rows(OrthoTransBasis basis)
    {
        int l = basis.Length;
        var v = basis.Vectors;
        var m = Matrix<double>.Build.Dense(l, l);
        for (int i = 0; i < l; i++)
            for (int j = 0; j < l; j++)
                m[i, j] = v[i * l + j];
        return m;
    }
}
