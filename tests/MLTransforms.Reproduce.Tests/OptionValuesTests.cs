using Xunit;

namespace MLTransforms.Reproduce.Tests;

/// <summary>The list options' parsing: anything but a list of valid numbers is rejected (null), never half-read.</summary>
public sealed class OptionValuesTests
{
    [Theory]
    [InlineData("96", new[] { 96 })]
    [InlineData("96,192, 336", new[] { 96, 192, 336 })]
    public void Positive_integer_lists_parse(string text, int[] expected) => Assert.Equal(expected, OptionValues.PositiveInts(text));

    [Theory]
    [InlineData("")]
    [InlineData(",")]
    [InlineData("0")]
    [InlineData("96,-1")]
    [InlineData("96,x")]
    [InlineData("1.5")]
    [InlineData(null)]
    public void Anything_else_is_rejected(string? text) => Assert.Null(OptionValues.PositiveInts(text));

    [Theory]
    [InlineData("0,1", new[] { 0.0, 1.0 })]
    [InlineData("-0.5,2e-1", new[] { -0.5, 0.2 })]
    public void Number_lists_parse_in_the_invariant_culture(string text, double[] expected) => Assert.Equal(expected, OptionValues.Doubles(text));

    [Theory]
    [InlineData("0,NaN")]
    [InlineData("1;2")]
    [InlineData("")]
    public void Non_numbers_are_rejected(string text) => Assert.Null(OptionValues.Doubles(text));
}
