using MLTransforms.Rotations;

namespace MLTransforms.Tests.Rotations;

public class FastCosineTests
{
    [Theory]
    [InlineData(10.0)]
    [InlineData(1000.0)]
    [InlineData(131072.0)]
    [InlineData(1e7)]
    public void MatchesDoublePrecisionCosine(double range)
    {
        var rng = new Random(1);
        // 1001 values: the vector body and the scalar tail; plus the quadrant boundaries.
        var x = Enumerable.Range(0, 1001).Select(_ => (float)((rng.NextDouble() * 2 - 1) * range))
            .Concat([0f, MathF.PI / 4, -MathF.PI / 4, MathF.PI / 2, MathF.PI, 3 * MathF.PI / 2, -MathF.PI]).ToArray();
        var y = new float[x.Length];
        FastCosine.Cos(x, y);
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(y[i] - Math.Cos(x[i])) < 1e-6, $"cos({x[i]}) = {Math.Cos(x[i])}, got {y[i]}");
        FastCosine.Cos(x, x);
        Assert.Equal(y, x);
    }
}
