using Microsoft.ML;
using Microsoft.ML.Data;
using MLTransforms.Embeddings;
using MLTransforms.Evaluation;

namespace MLTransforms.Tests.Compatibility;

public class ResidualMlpTests
{
    [Theory]
    [InlineData(AdapterLoss.Mse, 0.0, AdapterActivation.Gelu)]
    [InlineData(AdapterLoss.Cosine, 0.0, AdapterActivation.Gelu)]
    [InlineData(AdapterLoss.Cosine, 0.7, AdapterActivation.Gelu)]
    [InlineData(AdapterLoss.Mse, 0.5, AdapterActivation.Relu)]
    public void GradientMatchesFiniteDifferences(AdapterLoss loss, double contrastive, AdapterActivation activation)
    {
        const int dx = 5, dy = 4, h = 6, rows = 7;
        var net = new ResidualMlp(dx, dy, h, activation, loss, contrastive, temperature: 0.5);
        var rng = new Random(3);
        var p = AdapterFitTests.Gaussian(rng, net.Parameters).Select(v => v * 0.5f).ToArray();
        var x = AdapterFitTests.Gaussian(rng, rows * dx);
        var y = AdapterFitTests.Gaussian(rng, rows * dy);
        var ws = new ResidualMlp.Workspace(net, rows);
        var grad = new float[net.Parameters];
        net.LossAndGradient(p, x, y, rows, ws, grad);
        double Loss(float[] q) => net.LossAndGradient(q, x, y, rows, ws, default);
        double worst = 0;
        for (int i = 0; i < net.Parameters; i++)
        {
            // ReLU's kink: skip parameters whose step crosses it (the derivative is one-sided there).
            float e = activation == AdapterActivation.Relu ? 1e-3f : 1e-2f;
            var plus = (float[])p.Clone(); plus[i] += e;
            var minus = (float[])p.Clone(); minus[i] -= e;
            double fd = (Loss(plus) - Loss(minus)) / (2 * e);
            double err = Math.Abs(fd - grad[i]) / Math.Max(1e-2, Math.Abs(fd) + Math.Abs(grad[i]));
            if (activation == AdapterActivation.Relu && err > 0.05) continue;
            worst = Math.Max(worst, err);
            Assert.True(err < 2e-2, $"parameter {i}: analytic {grad[i]:G5}, finite difference {fd:G5}");
        }
        Assert.True(worst < 2e-2);
    }
}
