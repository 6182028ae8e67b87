using MathNet.Numerics.LinearAlgebra;

namespace MLTransforms.TimeSeries;

/// <summary>
/// Closed-form ridge in the OrthoTrans domain, from sufficient statistics. Inputs z = P_T x', targets c = P_H y'
/// (x', y' the normalised windows). Each output coefficient c_i gets its own ridge b_i = (S_zz + lambda_i W)^-1 S_zc,i
/// with W = diag(w_j) a penalty shape over input coefficients (w_j = (mu_j / mean mu)^-alpha_i, mu the input
/// eigenvalues: trailing, noisy components shrink more), and (alpha_i, lambda_i) chosen on the validation windows,
/// or b_i = 0 (output truncation) when that validates better. Because P_H is orthogonal, the validation squared
/// error is the sum of the per-coefficient errors, so choosing per coefficient minimises the total.
/// </summary>
internal static class OrthoRidgeSolver
{
    internal sealed record Result(Matrix<double> Coefficients, double[] Penalty, double[] Shape, bool[] Kept, double ValidationMse, double Scale);

    /// <param name="train">Normalised train Gram (T+H square).</param>
    /// <param name="validation">Normalised validation Gram, or null (then the first penalty and shape are used, nothing truncated).</param>
    /// <param name="validationCount">Number of validation windows.</param>
    /// <param name="inputBasis">P_T.</param>
    /// <param name="outputBasis">P_H.</param>
    /// <param name="penalties">Relative penalties: lambda = r * trace(S_zz) / T.</param>
    /// <param name="shapes">Exponents alpha.</param>
    /// <param name="shared">One (alpha, lambda) for all outputs, no truncation: plain ridge.</param>
    /// <param name="maxOutputs">Outputs beyond this index are truncated.</param>
    public static Result Solve(Matrix<double> train, Matrix<double>? validation, long validationCount,
        OrthoTransBasis inputBasis, OrthoTransBasis outputBasis, IReadOnlyList<double> penalties, IReadOnlyList<double> shapes,
        bool shared, int maxOutputs)
    {
        int t = inputBasis.Length, h = outputBasis.Length;
        var pt = Rows(inputBasis);
        var ph = Rows(outputBasis);
        var szz = pt * train.SubMatrix(0, t, 0, t) * pt.Transpose();
        var szc = pt * train.SubMatrix(0, t, t, h) * ph.Transpose();
        Matrix<double>? vzz = null, vzc = null;
        double[]? vcc = null;
        if (validation != null)
        {
            vzz = pt * validation.SubMatrix(0, t, 0, t) * pt.Transpose();
            vzc = pt * validation.SubMatrix(0, t, t, h) * ph.Transpose();
            var vyy = ph * validation.SubMatrix(t, h, t, h) * ph.Transpose();
            vcc = Enumerable.Range(0, h).Select(i => vyy[i, i]).ToArray();
        }
        double scale = szz.Trace() / t;
        double meanMu = inputBasis.Eigenvalues.Average(v => Math.Max(v, 0));
        double floor = 1e-6 * Math.Max(inputBasis.Eigenvalues[0], 1e-12);
        if (validation == null) { penalties = [penalties[0]]; shapes = [shapes[0]]; }

        // Validation error of every (shape, penalty) for every output coefficient, via the eigenbasis of the
        // re-weighted S_zz, so each penalty costs one T x T x H product and no solve.
        var best = Enumerable.Range(0, h).Select(i => (Err: vcc?[i] ?? double.PositiveInfinity, A: -1, L: -1)).ToArray();
        var errTotal = new double[shapes.Count, penalties.Count];
        var cache = new (Matrix<double> DV, Vector<double> Lambda, Matrix<double> R)[shapes.Count];
        for (int a = 0; a < shapes.Count; a++)
        {
            var d = Vector<double>.Build.Dense(t, j => Math.Pow(Math.Max(inputBasis.Eigenvalues[j], floor) / meanMu, shapes[a] / 2));
            var dm = Matrix<double>.Build.DiagonalOfDiagonalVector(d); // W^-1/2
            var evd = (dm * szz * dm).Evd(Symmetricity.Symmetric);
            var dv = dm * evd.EigenVectors;
            var lam = Vector<double>.Build.Dense(t, j => Math.Max(evd.EigenValues[j].Real, 0));
            var r = dv.TransposeThisAndMultiply(szc);
            cache[a] = (dv, lam, r);
            if (validation == null) continue;
            var sv = dv.TransposeThisAndMultiply(vzz!) * dv;
            var rv = dv.TransposeThisAndMultiply(vzc!);
            for (int p = 0; p < penalties.Count; p++)
            {
                var g = Scaled(r, lam, penalties[p] * scale);
                var svg = sv * g;
                for (int i = 0; i < h; i++)
                {
                    double cross = 0, quad = 0;
                    for (int j = 0; j < t; j++)
                    {
                        cross += g[j, i] * rv[j, i];
                        quad += g[j, i] * svg[j, i];
                    }
                    double err = vcc![i] - 2 * cross + quad;
                    errTotal[a, p] += err;
                    if (!shared && i < maxOutputs && err < best[i].Err) best[i] = (err, a, p);
                }
            }
        }
        if (shared || validation == null)
        {
            var (ba, bp) = (0, 0);
            for (int a = 0; a < shapes.Count; a++)
                for (int p = 0; p < penalties.Count; p++)
                    if (errTotal[a, p] < errTotal[ba, bp]) (ba, bp) = (a, p);
            for (int i = 0; i < h; i++)
                best[i] = i < maxOutputs ? (double.NaN, ba, bp) : (double.NaN, -1, -1);
        }

        var coef = Matrix<double>.Build.Dense(t, h);
        for (int a = 0; a < shapes.Count; a++)
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
        return new Result(coef,
            best.Select(b => b.L < 0 ? double.PositiveInfinity : penalties[b.L] * scale).ToArray(),
            best.Select(b => b.A < 0 ? double.NaN : shapes[b.A]).ToArray(),
            best.Select(b => b.A >= 0).ToArray(), valMse, scale);
    }

    /// <summary>G = diag(1 / (lambda + penalty)) R.</summary>
    private static Matrix<double> Scaled(Matrix<double> r, Vector<double> lam, double penalty)
    {
        var inv = Vector<double>.Build.Dense(lam.Count, j => 1 / (lam[j] + penalty));
        return Matrix<double>.Build.DiagonalOfDiagonalVector(inv) * r;
    }

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
