using System.Globalization;
using ScottPlot;
using Xunit;

namespace MLTransforms.Reproduce.Tests;

/// <summary>Ticks of a log10 axis: labels are the values at their positions, several of them even on a narrow range.</summary>
public sealed class LogTickGeneratorTests
{
    // The generator measures no text, so it needs no paint.
    private static Tick[] Generate(double min, double max, double pixels = 400, IReadOnlyList<double>? values = null)
    {
        var generator = new LogTickGenerator("G4", values);
        generator.Regenerate(new CoordinateRange(Math.Log10(min), Math.Log10(max)), Edge.Left, new PixelLength((float)pixels), null!, new LabelStyle());
        return generator.Ticks;
    }

    private static double[] Labels(Tick[] ticks)
        => ticks.Where(t => t.IsMajor).Select(t => double.Parse(t.Label, CultureInfo.InvariantCulture)).ToArray();

    [Theory]
    [InlineData(0.02, 0.06)] // the kernel-error plot's error axis: NumericAutomatic gave it one tick
    [InlineData(200, 5000)]
    [InlineData(0.005, 0.4)]
    [InlineData(1e-4, 1e4)]
    [InlineData(0.031, 0.039)]
    public void Several_major_ticks_inside_the_range_labelled_with_their_values(double min, double max)
    {
        var ticks = Generate(min, max);
        var majors = ticks.Where(t => t.IsMajor).ToArray();
        Assert.InRange(majors.Length, 3, 400 / 35);
        foreach (var t in majors)
        {
            double value = double.Parse(t.Label, CultureInfo.InvariantCulture);
            Assert.InRange(t.Position, Math.Log10(min), Math.Log10(max));
            Assert.Equal(Math.Log10(value), t.Position, 9);
        }
        var labels = Labels(ticks);
        Assert.Equal(labels.Order(), labels);
        Assert.Equal(labels.Length, labels.Distinct().Count());
    }

    [Fact]
    public void Wide_range_labels_powers_of_ten_only()
    {
        var labels = Labels(Generate(1e-4, 1e4));
        Assert.All(labels, v => Assert.Equal(Math.Round(Math.Log10(v)), Math.Log10(v), 9));
    }

    [Fact]
    public void Given_values_are_the_major_ticks()
    {
        double[] ranks = [256, 512, 1024, 2048, 4096];
        var ticks = Generate(200, 5000, values: ranks);
        Assert.Equal(ranks, Labels(ticks));
        // Minor ticks mark the integer multiples of each decade (300, 400, ..., 1000, 2000, ...), never a major's place.
        var minors = ticks.Where(t => !t.IsMajor).Select(t => Math.Pow(10, t.Position)).ToArray();
        Assert.Contains(minors, v => Math.Abs(v - 1000) < 1e-6);
        Assert.All(minors, v => Assert.DoesNotContain(ranks, r => Math.Abs(r - v) < 1e-6));
    }
}
